import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { infra } from '../../../test/infra/endpoints.ts';
import { type Index, createIndex } from '../index.ts';

/** A migrated index in a database of its own, so test files never see each other's rows. */
export interface TestIndex {
  index: Index;
  databaseUrl: string;
  /** Another client on the same database, as a second replica would be. */
  openReplica(): Index;
  drop(): Promise<void>;
}

export async function createTestIndex(options: { migrate?: boolean } = {}): Promise<TestIndex> {
  const adminUrl = infra().databaseUrl;
  const name = `granary_index_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const replicas: Index[] = [];
  const openReplica = () => {
    const replica = createIndex({ databaseUrl, maxConnections: 4 });
    replicas.push(replica);
    return replica;
  };
  const index = openReplica();
  if (options.migrate ?? true) await index.migrate();
  return {
    index,
    databaseUrl,
    openReplica,
    async drop() {
      await Promise.all(replicas.map((r) => r.close()));
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
