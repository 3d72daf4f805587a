import type { CrashPoint } from '@granary/processing';
import { CRASH_POINTS } from '@granary/processing';
import { createTestIndex, registerMetrics } from '@granary/testing/database';
import { infra } from '@granary/testing/infra';
import { compactedObjects } from '@granary/testing/object-store';
import {
  type TestStorage,
  caughtUp,
  compactEverything,
  createTopics,
  endOffsets,
  exited,
  fileTestStorage,
  processorConfig,
  produce,
  s3TestStorage,
  scratchDirectory,
  spawnProcessor,
  uniqueSuffix,
} from '@granary/testing/processor-environment';
import { MINIO_CREDENTIALS, startMinio } from '@granary/testing/services';
import { S3_CREDENTIALS } from '@granary/testing/settings';
import { SHORT_WITH_RATE, generateStream, seededRandom } from '@granary/testing/stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The crash test of issue 6: a fixed seeded stream, one run killed with SIGKILL (by the
 * processor's own fault injection, so each moment is hit for sure) at least twice at each moment
 * of the protocol and restarted every time, and one crash-free run over the same records; once
 * both are fully compacted, every stored object of the Gnocchi layout must be byte-identical.
 * The crashed run is repeated on each storage, each with a topic of its own: the filesystem,
 * S3Proxy (whose conditional writes are not atomic) and MinIO (whose are).
 */
const suffix = uniqueSuffix();
const PARTITIONS = 4;
const KILLS_PER_POINT = 2;
const { metricIds, batches } = generateStream({
  seed: 2026,
  metrics: 1000,
  batchesPerMetric: 10,
  measuresPerBatch: 10,
  stepUs: 20_000_000,
  lateShare: 0.05,
});
const places = { reference: `granary-crash-ref-${suffix}`, crashed: `granary-crash-run-${suffix}` };
let database: Awaited<ReturnType<typeof createTestIndex>>;

/**
 * The crash-free run's compacted objects, made once on the first storage this run reaches: every
 * storage's topic holds the same records in the same order per partition, and the stored bytes
 * must not depend on the storage either.
 */
let referenceObjects: Map<string, Buffer> | undefined;

/** Each storage the test runs on; `start` makes it ready and says how to undo that. */
const BACKENDS: { id: string; start(): Promise<{ storage: TestStorage; stop(): Promise<void> }> }[] = [
  { id: 'file', start: async () => ({ storage: fileTestStorage(scratchDirectory()), stop: async () => {} }) },
  {
    id: 's3proxy',
    start: async () => ({
      storage: s3TestStorage('S3Proxy', infra().s3Endpoint, S3_CREDENTIALS),
      stop: async () => {},
    }),
  },
  {
    id: 'minio',
    async start() {
      const minio = await startMinio();
      return { storage: s3TestStorage('MinIO', minio.endpoint, MINIO_CREDENTIALS), stop: minio.stop };
    },
  },
];

beforeAll(async () => {
  database = await createTestIndex({ seed: true });
  await database.index.archivePolicies.create({
    name: SHORT_WITH_RATE.name,
    backWindow: SHORT_WITH_RATE.backWindow,
    definition: SHORT_WITH_RATE.definition.map(({ granularity, points }) => ({ granularity, points })),
    aggregationMethods: [...SHORT_WITH_RATE.aggregationMethods],
  });
  // Half on `medium`, half on a short policy with a back window and rate methods (splits expire).
  await registerMetrics(database.index, metricIds, (position) =>
    position % 2 === 0 ? 'medium' : SHORT_WITH_RATE.name,
  );
});

afterAll(async () => {
  await database?.drop();
});

/** The stream reaches Kafka in parts, one before each crashed life, so every life has work to die in. */
const PARTS = 12;

/** How many passes through each point before the kill: early enough that every life crashes. */
function crashAfterFor(point: CrashPoint, random: () => number): number {
  const spread: Record<CrashPoint, [number, number]> = {
    apply: [50, 700],
    'segment-write': [1, 4],
    'after-segment': [1, 4],
    'after-manifest': [1, 4],
    compaction: [1, 400],
  };
  const [low, high] = spread[point];
  return low + Math.floor(random() * (high - low));
}

for (const backend of BACKENDS) {
  describe(`processor crash test on ${backend.id} (kill -9 at every moment of the checkpoint protocol)`, () => {
    const topic = `test.processor.crash.${backend.id}.${suffix}`;
    let storage: TestStorage;
    let stopBackend: () => Promise<void> = async () => {};

    beforeAll(async () => {
      ({ storage, stop: stopBackend } = await backend.start());
      await createTopics(topic, PARTITIONS);
    });

    afterAll(async () => {
      if (storage) for (const place of Object.values(places)) await storage.drop(place);
      await stopBackend();
    });

    it('stores byte-identical splits after crashes and restarts as without them', async () => {
      const directory = scratchDirectory();
      let ends = new Map<number, number>();
      let produced = 0;
      const produceNextPart = async () => {
        const upTo = Math.min(batches.length, produced + Math.ceil(batches.length / PARTS));
        await produce(topic, batches.slice(produced, upTo));
        produced = upTo;
        ends = await endOffsets(topic);
      };
      const config = (bucket: string, life: string, processor: Record<string, unknown> = {}) =>
        processorConfig({
          topic,
          bucket,
          databaseUrl: database.databaseUrl,
          groupId: `crash-${backend.id}-${suffix}-${life}`,
          processor,
          storage,
        });

      /** Runs one processor until it dies or has checkpointed everything (then SIGTERM); how did it end? */
      const live = async (
        bucket: string,
        life: string,
        processor: Record<string, unknown>,
        linger: number,
      ) => {
        const store = storage.open(bucket);
        const child = spawnProcessor(config(bucket, life, processor), directory, life);
        const ended = exited(child);
        let outcome: Awaited<typeof ended> | undefined;
        ended.then((result) => {
          outcome = result;
        });
        while (!outcome && !(await caughtUp(store, topic, ends)))
          await new Promise((r) => setTimeout(r, 250));
        // Caught up: give compaction (crash lives) time to run and maybe die, then stop it.
        if (!outcome) await Promise.race([ended, new Promise((r) => setTimeout(r, linger))]);
        if (!outcome) child.kill('SIGTERM');
        const result = await ended;
        await store.close();
        return result;
      };

      const random = seededRandom(7);
      const kills = new Map<CrashPoint, number>(CRASH_POINTS.map((point) => [point, 0]));
      const plan: CrashPoint[] = [];
      let lives = 0;
      while ([...kills.values()].some((count) => count < KILLS_PER_POINT)) {
        if (++lives > 40) break;
        if (plan.length === 0)
          plan.push(...CRASH_POINTS.filter((point) => (kills.get(point) as number) < KILLS_PER_POINT));
        if (produced < batches.length) await produceNextPart();
        const point = plan.splice(Math.floor(random() * plan.length), 1)[0] as CrashPoint;
        const after = crashAfterFor(point, random);
        const result = await live(
          places.crashed,
          `life-${lives}`,
          { faultInjection: { crashAt: point, after } },
          3000,
        );
        if (result.signal === 'SIGKILL') kills.set(point, (kills.get(point) as number) + 1);
        else expect(result).toEqual({ code: 0, signal: null });
      }
      expect(Object.fromEntries(kills)).toEqual(
        Object.fromEntries(CRASH_POINTS.map((point) => [point, KILLS_PER_POINT])),
      );
      while (produced < batches.length) await produceNextPart();
      const last = await live(places.crashed, 'last', {}, 0);
      expect(last).toEqual({ code: 0, signal: null });
      if (!referenceObjects) {
        // The crash-free run reads the same records in the same order from the start of the topic.
        expect(await live(places.reference, 'reference', {}, 0)).toEqual({ code: 0, signal: null });
        const store = storage.open(places.reference);
        await compactEverything(store, topic, PARTITIONS, database.index);
        referenceObjects = await compactedObjects(store);
        await store.close();
      }
      const expected = referenceObjects;

      const crashed = storage.open(places.crashed);
      await compactEverything(crashed, topic, PARTITIONS, database.index);
      const actual = await compactedObjects(crashed);
      await crashed.close();
      // 1000 raw tails, and splits of both policies.
      expect(expected.size).toBeGreaterThan(1000 * 10);
      expect([...actual.keys()]).toEqual([...expected.keys()]);
      const differing = [...expected]
        .filter(([key, bytes]) => !actual.get(key)?.equals(bytes))
        .map(([key]) => key);
      expect(differing).toEqual([]);
    }, 900_000);
  });
}
