import type { ChildProcess } from 'node:child_process';
import { readManifest } from '@granary/storage';
import { createTestIndex, registerMetrics } from '@granary/testing/database';
import { compactedObjects } from '@granary/testing/object-store';
import {
  caughtUp,
  compactEverything,
  createTopics,
  dropBucket,
  endOffsets,
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
 * Issue 15's stop-under-backlog contract: with a million measures waiting, a SIGTERM'd processor
 * exits within 10 s, and a restart loses and duplicates nothing (its compacted splits are
 * byte-identical to those of a run that was never stopped).
 */
const suffix = uniqueSuffix();
const topic = `test.processor.backlog.${suffix}`;
const PARTITIONS = 4;
const STOP_DEADLINE_MS = 10_000;
const { metricIds, batches } = generateStream({
  seed: 15,
  metrics: 1000,
  batchesPerMetric: 100,
  measuresPerBatch: 10,
  stepUs: 20_000_000,
});
const buckets = { reference: `granary-backlog-ref-${suffix}`, stopped: `granary-backlog-run-${suffix}` };
let database: Awaited<ReturnType<typeof createTestIndex>>;
const children: ChildProcess[] = [];

beforeAll(async () => {
  database = await createTestIndex({ seed: true });
  await registerMetrics(database.index, metricIds, 'low');
  await createTopics(topic, PARTITIONS);
  await produce(topic, batches);
}, 300_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await database?.drop();
  for (const bucket of Object.values(buckets)) await dropBucket(bucket);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('processor stop under backlog', () => {
  it('exits within 10 s of SIGTERM with a million measures waiting; the restart loses and duplicates nothing', async () => {
    expect(batches.reduce((sum, batch) => sum + batch.values.length, 0)).toBe(1_000_000);
    const directory = scratchDirectory();
    const ends = await endOffsets(topic);
    const config = (bucket: string) =>
      processorConfig({
        topic,
        bucket,
        databaseUrl: database.databaseUrl,
        groupId: `backlog-${suffix}-${bucket === buckets.reference ? 'reference' : 'stopped'}`,
      });
    const runToTheEnd = async (bucket: string, life: string) => {
      const store = s3Store(bucket);
      const child = spawnProcessor(config(bucket), directory, life);
      children.push(child);
      const ended = exited(child);
      while (!(await caughtUp(store, topic, ends))) await sleep(250);
      child.kill('SIGTERM');
      await store.close();
      return ended;
    };

    const store = s3Store(buckets.stopped);
    const first = spawnProcessor(config(buckets.stopped), directory, 'stopped');
    children.push(first);
    const firstEnded = exited(first);
    // SIGTERM as soon as a first checkpoint has landed, while checkpoints and compactions run and
    // most of the backlog is still waiting: a quiet machine drains the whole million in about two
    // seconds, so waiting any longer can leave no backlog to stop under.
    const checkpointed = async () => {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        if (((await readManifest(store, topic, partition))?.manifest.offset ?? 0) > 0) return true;
      }
      return false;
    };
    while (!(await checkpointed())) await sleep(20);
    expect(await caughtUp(store, topic, ends)).toBe(false);
    const signalledAt = Date.now();
    first.kill('SIGTERM');
    const outcome = await firstEnded;
    const stopMs = Date.now() - signalledAt;
    expect(outcome).toEqual({ code: 0, signal: null });
    expect(stopMs, 'ms from SIGTERM to exit').toBeLessThan(STOP_DEADLINE_MS);
    // Still a backlog after the stop, so the restart has work to resume.
    expect(await caughtUp(store, topic, ends)).toBe(false);
    await store.close();

    expect(await runToTheEnd(buckets.stopped, 'restarted')).toEqual({ code: 0, signal: null });
    expect(await runToTheEnd(buckets.reference, 'reference')).toEqual({ code: 0, signal: null });

    const stores = { reference: s3Store(buckets.reference), stopped: s3Store(buckets.stopped) };
    await compactEverything(stores.reference, topic, PARTITIONS, database.index);
    await compactEverything(stores.stopped, topic, PARTITIONS, database.index);
    const expected = await compactedObjects(stores.reference);
    const actual = await compactedObjects(stores.stopped);
    expect(expected.size).toBeGreaterThan(1000);
    expect([...actual.keys()]).toEqual([...expected.keys()]);
    const differing = [...expected]
      .filter(([key, bytes]) => !actual.get(key)?.equals(bytes))
      .map(([key]) => key);
    expect(differing).toEqual([]);
    await stores.reference.close();
    await stores.stopped.close();
  }, 600_000);
});
