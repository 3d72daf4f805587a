import { randomBytes } from 'node:crypto';
import { type Index, createIndex } from '@granary/index';
import pg from 'pg';
import { infra } from '../infra/endpoints.ts';

/** A database of its own for one test file, so files never see each other's rows. */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A migrated index in a database of its own. */
export interface TestIndex {
  index: Index;
  databaseUrl: string;
  /** Another client on the same database, as a second replica would be. */
  openReplica(): Index;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = infra().databaseUrl;
  const name = `granary_test_${randomBytes(6).toString('hex')}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export async function createTestIndex(options: { migrate?: boolean } = {}): Promise<TestIndex> {
  const database = await createTestDatabase();
  const replicas: Index[] = [];
  const openReplica = () => {
    const replica = createIndex({ databaseUrl: database.url, maxConnections: 4 });
    replicas.push(replica);
    return replica;
  };
  const index = openReplica();
  if (options.migrate ?? true) await index.migrate();
  return {
    index,
    databaseUrl: database.url,
    openReplica,
    async drop() {
      await Promise.all(replicas.map((r) => r.close()));
      await database.drop();
    },
  };
}
