import { randomBytes } from 'node:crypto';
import { createIndex } from '@granary/index';
import pg from 'pg';

/**
 * Databases of their own on any PostgreSQL server, named by the caller's admin URL. No vitest here:
 * benches use it as well as tests (`./database.ts` binds it to the test infrastructure).
 */
export interface OwnDatabase {
  url: string;
  /** Drops the database, closing any connection still open on it. */
  drop(): Promise<void>;
}

async function runStatement(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Creates `name` (by default a random `granary_test_…`) on the server of `adminUrl`. */
export async function createDatabase(
  adminUrl: string,
  name = `granary_test_${randomBytes(6).toString('hex')}`,
): Promise<OwnDatabase> {
  await runStatement(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => runStatement(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * A database for a benchmark: the index migrated, Gnocchi's default policies, and `ids` as metrics
 * on `policy`.
 */
export async function createBenchIndex(
  adminUrl: string,
  name: string,
  ids: readonly string[],
  policy: string,
): Promise<OwnDatabase> {
  const database = await createDatabase(adminUrl, name);
  const index = createIndex({ databaseUrl: database.url });
  await index.migrate();
  await index.seed('defaults');
  await index.close();
  // A fixture, not a test of the index: one bulk insert instead of an API creation per metric.
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO metric (id, creator, archive_policy_name) SELECT id, 'bench', $2 FROM unnest($1::uuid[]) AS id`,
      [ids, policy],
    );
  } finally {
    await client.end();
  }
  return database;
}
