import { type Index, createIndex } from '@granary/index';
import { infra } from '../infra/endpoints.ts';
import { type OwnDatabase, createDatabase } from './postgres.ts';

/** A database of its own for one test file, so files never see each other's rows. */
export type TestDatabase = OwnDatabase;

/** A migrated index in a database of its own. */
export interface TestIndex {
  index: Index;
  databaseUrl: string;
  /** Another client on the same database, as a second replica would be. */
  openReplica(): Index;
  drop(): Promise<void>;
}

export function createTestDatabase(): Promise<TestDatabase> {
  return createDatabase(infra().databaseUrl);
}

/** `seed` also writes Gnocchi's default archive policies and rule (as the API does at start-up). */
export async function createTestIndex(
  options: { migrate?: boolean; seed?: boolean } = {},
): Promise<TestIndex> {
  const database = await createTestDatabase();
  const replicas: Index[] = [];
  const openReplica = () => {
    const replica = createIndex({ databaseUrl: database.url, maxConnections: 4 });
    replicas.push(replica);
    return replica;
  };
  const index = openReplica();
  if (options.migrate ?? true) await index.migrate();
  if (options.seed) await index.seed('defaults');
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

/**
 * Registers `ids` as metrics without a resource, eight at a time: a fixture for tests of what reads
 * them (processors, rebuilds), not a test of the index. `policy` names each one's archive policy.
 */
export async function registerMetrics(
  index: Index,
  ids: readonly string[],
  policy: string | ((position: number) => string),
): Promise<void> {
  const policyAt = typeof policy === 'string' ? () => policy : policy;
  for (let start = 0; start < ids.length; start += 8) {
    await Promise.all(
      ids
        .slice(start, start + 8)
        .map((id, offset) =>
          index.metrics.create({ id, creator: null, archivePolicyName: policyAt(start + offset) }),
        ),
    );
  }
}
