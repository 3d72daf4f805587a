import { partitionFor } from '@granary/kafka';
import { createLogger } from '@granary/observability';
import { compactedObjects } from '@granary/testing/object-store';
import { MEDIUM, generateStream } from '@granary/testing/stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runJanitor } from '../index.ts';
import { activeMetrics, createHarness, directoryOf, recordBatch, temporaryStore } from './support.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('janitor', () => {
  it("deletes a deleted metric's objects and memory, and keeps it from coming back", async () => {
    const { metricIds, batches } = generateStream({
      seed: 21,
      metrics: 2,
      batchesPerMetric: 4,
      measuresPerBatch: 5,
      stepUs: 10_000_000,
    });
    const [doomed, kept] = metricIds as [string, string];
    const temporary = temporaryStore();
    cleanups.push(temporary.remove);
    const { store } = temporary;
    const directory = directoryOf(activeMetrics(metricIds, MEDIUM));
    const harness = createHarness(store, directory);
    const partition = partitionFor(doomed, 1);
    await harness.processor.assign([partition]);
    await harness.processor.handleBatch(recordBatch(partition, 0, batches.slice(0, 4)));
    await harness.processor.checkpointAll();
    await harness.processor.compactAll();
    // More measures of the doomed metric wait in a live segment when the janitor runs.
    await harness.processor.handleBatch(recordBatch(partition, 4, batches.slice(4)));
    await harness.processor.checkpointAll();
    expect([...(await compactedObjects(store)).keys()].some((key) => key.startsWith(doomed))).toBe(true);

    const expunged: string[] = [];
    const { policies } = harness;
    const count = await runJanitor({
      metrics: {
        listDeleted: async () => [{ id: doomed }, { id: '00000000-0000-4000-8000-000000000000' }],
        expunge: async (ids) => {
          expunged.push(...ids);
          return ids.length;
        },
      },
      store,
      processor: harness.processor,
      policies,
      partitionCount: 1,
      batchSize: 100,
      logger: createLogger('janitor-test', 'silent'),
    });
    expect(count).toBe(2);
    expect(expunged).toContain(doomed);
    expect([...(await compactedObjects(store)).keys()].filter((key) => key.startsWith(doomed))).toEqual([]);
    expect(policies.get(doomed)).toEqual({ status: 'delete' });
    expect(harness.processor.partition(partition)?.metricsInMemory).toBe(1);
    expect([...(await compactedObjects(store)).keys()].some((key) => key.startsWith(kept))).toBe(true);

    // Its deltas still in the live segment are skipped by compaction; later measures are counted drops.
    await harness.processor.compactAll();
    expect([...(await compactedObjects(store)).keys()].filter((key) => key.startsWith(doomed))).toEqual([]);
    await harness.processor.handleBatch(recordBatch(partition, batches.length, [batches[0]!]));
    expect(await harness.instruments.measuresDropped.readings()).toMatchObject([
      { labels: { reason: 'metric_deleted' }, value: batches[0]!.timestamps.length },
    ]);
  });
});
