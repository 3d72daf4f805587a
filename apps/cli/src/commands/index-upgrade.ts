import { createIndex } from '@granary/index';
import { defineCommand } from '../command.ts';
import { cliErrors } from '../errors.ts';

export const indexUpgrade = defineCommand({
  path: ['index', 'upgrade'],
  summary: "migrate the PostgreSQL index schema and seed Gnocchi's default archive policies",
  description: [
    'Like gnocchi-upgrade: applies pending migrations, then (unless --empty) creates the default',
    'archive policies (low, medium, high, bool) and rule into an index that has none. Safe to run',
    'again, and from several places at once.',
  ].join('\n'),
  options: {
    seed: { type: 'boolean', description: 'seed the default archive policies and rule (the default)' },
    empty: { type: 'boolean', description: 'create no archive policy or rule' },
  },
  async run({ options }, { config }) {
    if (options.seed && options.empty) throw cliErrors('CLI_USAGE', '--seed and --empty exclude each other');
    const mode = options.empty ? 'empty' : 'defaults';
    // Two connections: seeding holds one for its advisory lock while the inserts take another.
    const index = createIndex({ databaseUrl: config().database.url, maxConnections: 2 });
    try {
      const { applied, version } = await index.migrate();
      const { created } = await index.seed(mode);
      const seeded =
        mode === 'empty'
          ? 'nothing seeded (--empty)'
          : created
            ? 'seeded the default archive policies and rule'
            : 'archive policies or rules already present; nothing seeded';
      const migrated =
        applied.length > 0
          ? `applied migrations ${applied.join(', ')}; schema version ${version}`
          : `schema up to date (version ${version})`;
      return { json: { applied, version, seed: mode, seeded: created }, text: `${migrated}\n${seeded}` };
    } finally {
      await index.close();
    }
  },
});
