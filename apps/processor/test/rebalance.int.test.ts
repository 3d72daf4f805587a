import { readManifest } from '@granary/storage';
import { createTestIndex, registerMetrics } from '@granary/testing/database';
import { compactedObjects } from '@granary/testing/object-store';
import {
  caughtUp,
  compactEverything,
  createTopics,
  dropBucket,
  endOffsets,
  eventually,
  exited,
  processorConfig,
  produce,
  s3Store,
  scratchDirectory,
  spawnProcessor,
  uniqueSuffix,
} from '@granary/testing/processor-environment';
import { generateStream } from '@granary/testing/stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The rebalance test of issue 6: two processors share the partitions, a third joins, one leaves,
 * while records keep arriving. Polling every manifest throughout, a partition's owner generation
 * and offset must never go back (a second writer would make them), and the compacted result must
 * be byte-identical to a single processor's over the same records.
 */
const suffix = uniqueSuffix();
const topic = `test.processor.rebalance.${suffix}`;
const PARTITIONS = 4;
const { metricIds, batches } = generateStream({
  seed: 99,
  metrics: 400,
  batchesPerMetric: 9,
  measuresPerBatch: 10,
  stepUs: 30_000_000,
  lateShare: 0.05,
});
const buckets = { reference: `granary-rebalance-ref-${suffix}`, shared: `granary-rebalance-run-${suffix}` };
let database: Awaited<ReturnType<typeof createTestIndex>>;

beforeAll(async () => {
  database = await createTestIndex({ seed: true });
  await registerMetrics(database.index, metricIds, 'medium');
  await createTopics(topic, PARTITIONS);
});

afterAll(async () => {
  await database?.drop();
  for (const bucket of Object.values(buckets)) await dropBucket(bucket);
});

describe('processor rebalance test', () => {
  it('keeps one writer per partition while processors join and leave, with the same bytes as one processor', async () => {
    const directory = scratchDirectory();
    const part = Math.ceil(batches.length / 3);
    const spawnMember = (bucket: string, name: string, group: string) =>
      spawnProcessor(
        processorConfig({ topic, bucket, databaseUrl: database.databaseUrl, groupId: group }),
        directory,
        name,
      );
    const store = s3Store(buckets.shared);

    // Every manifest, all along: generation and offset per partition must never decrease.
    const regressions: string[] = [];
    const seen = new Map<number, { generation: number; offset: number }>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (let partition = 0; partition < PARTITIONS; partition++) {
          const manifest = (await readManifest(store, topic, partition))?.manifest;
          if (!manifest) continue;
          const before = seen.get(partition);
          if (before && (manifest.generation < before.generation || manifest.offset < before.offset)) {
            regressions.push(
              `partition ${partition}: ${JSON.stringify(before)} then ${manifest.generation}/${manifest.offset}`,
            );
          }
          seen.set(partition, { generation: manifest.generation, offset: manifest.offset });
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    // Claims so far: each claim of a partition raises its manifest's generation by one.
    const claimsSeen = () => [...seen.values()].reduce((sum, { generation }) => sum + generation, 0);
    const group = `rebalance-${suffix}`;
    await produce(topic, batches.slice(0, part));
    const first = spawnMember(buckets.shared, 'first', group);
    const second = spawnMember(buckets.shared, 'second', group);
    let ends = await endOffsets(topic);
    await eventually(() => caughtUp(store, topic, ends));

    // The newcomer must really take partitions before anyone leaves, or the test would see only
    // one movement (a slow start under load once made the leave overtake the join).
    const claimsBeforeJoin = claimsSeen();
    const third = spawnMember(buckets.shared, 'third', group);
    await eventually(async () => claimsSeen() > claimsBeforeJoin);
    await produce(topic, batches.slice(part, 2 * part));
    ends = await endOffsets(topic);
    await eventually(() => caughtUp(store, topic, ends));

    const claimsBeforeLeave = claimsSeen();
    first.kill('SIGTERM');
    await produce(topic, batches.slice(2 * part));
    expect(await exited(first)).toEqual({ code: 0, signal: null });
    ends = await endOffsets(topic);
    await eventually(() => caughtUp(store, topic, ends));
    await eventually(async () => claimsSeen() > claimsBeforeLeave);
    for (const member of [second, third]) member.kill('SIGTERM');
    expect(await exited(second)).toEqual({ code: 0, signal: null });
    expect(await exited(third)).toEqual({ code: 0, signal: null });
    watching = false;
    await watcher;
    expect(regressions).toEqual([]);
    // Partitions moved: the join gave the newcomer at least one, the leave moved the leaver's.
    expect(claimsSeen()).toBeGreaterThanOrEqual(PARTITIONS + 2);

    const reference = s3Store(buckets.reference);
    const alone = spawnMember(buckets.reference, 'alone', `rebalance-alone-${suffix}`);
    await eventually(() => caughtUp(reference, topic, ends));
    alone.kill('SIGTERM');
    expect(await exited(alone)).toEqual({ code: 0, signal: null });

    await compactEverything(reference, topic, PARTITIONS, database.index);
    await compactEverything(store, topic, PARTITIONS, database.index);
    const expected = await compactedObjects(reference);
    const actual = await compactedObjects(store);
    expect(expected.size).toBeGreaterThan(400 * 12);
    expect([...actual.keys()]).toEqual([...expected.keys()]);
    const differing = [...expected]
      .filter(([key, bytes]) => !actual.get(key)?.equals(bytes))
      .map(([key]) => key);
    expect(differing).toEqual([]);
    await reference.close();
    await store.close();
  }, 600_000);
});
