/**
 * Migrates (and optionally seeds) the index from the command line, for deployments that run schema
 * changes as a separate step instead of on start-up:
 *
 *   npm run migrate -w @granary/index -- --database-url=postgres://… [--seed=defaults|empty]
 */
import { createIndex } from '../index.ts';
import type { SeedMode } from './seed.ts';

const option = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const databaseUrl = option('database-url') ?? process.env.GRANARY_DATABASE_URL;
const seedMode = option('seed');

if (!databaseUrl || (seedMode !== undefined && seedMode !== 'defaults' && seedMode !== 'empty')) {
  console.error(
    'usage: migrate --database-url=postgres://… (or GRANARY_DATABASE_URL) [--seed=defaults|empty]',
  );
  process.exit(2);
}

const index = createIndex({ databaseUrl });
try {
  const { applied, version } = await index.migrate();
  console.log(
    applied.length
      ? `applied migrations ${applied.join(', ')}; schema version ${version}`
      : `schema up to date (version ${version})`,
  );
  if (seedMode) {
    const { created } = await index.seed(seedMode as SeedMode);
    console.log(created ? `seeded ${seedMode}` : 'nothing seeded');
  }
} finally {
  await index.close();
}
