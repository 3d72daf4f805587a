import {
  type FoldedMetric,
  type ObjectStore,
  type StoredObject,
  foldSegments,
  rawTailKey,
} from '@granary/storage';
import { MEDIUM } from '@granary/testing/stream';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../index.ts';
import { compactMetric } from '../src/compaction.ts';
import { MetricState } from '../src/metric-state.ts';
import { storePerTest } from './support.ts';

const store = storePerTest();
const METRIC = '5a301761-f78b-46e2-8900-8b4f6fe6675a';
const HOUR_US = 3_600_000_000;
const MINUTE_US = 60_000_000;
const START_US = Date.UTC(2026, 11, 1) * 1000;

/** The store, and the keys of every batch written through it. */
function recordingStore(target: ObjectStore): { store: ObjectStore; batches: string[][] } {
  const batches: string[][] = [];
  return {
    batches,
    store: {
      driver: target.driver,
      put: (key, bytes) => target.put(key, bytes),
      putMany: async (objects: readonly StoredObject[]) => {
        batches.push(objects.map((object) => object.key));
        await target.putMany(objects);
      },
      get: (key) => target.get(key),
      getWithVersion: (key) => target.getWithVersion(key),
      putIfMatch: (key, bytes, version) => target.putIfMatch(key, bytes, version),
      conditionalWriteMechanism: () => target.conditionalWriteMechanism(),
      list: (prefix) => target.list(prefix),
      delete: (keys) => target.delete(keys),
      close: () => target.close(),
    },
  };
}

/** The change set one checkpoint of `state` would carry, as compaction gets it. */
function changesOf(state: MetricState): FoldedMetric {
  const delta = state.takeDelta();
  if (!delta) throw new Error('nothing applied');
  const segment = {
    topic: 't',
    partition: 0,
    seq: 0,
    generation: 1,
    firstOffset: 0,
    lastOffset: 0,
    createdAtUs: 0,
  };
  return foldSegments([{ ...segment, metrics: [delta] }]).get(METRIC) as FoldedMetric;
}

describe('compactMetric', () => {
  it("writes a metric's objects in one batch, and leaves a split whose buckets did not change", async () => {
    const compiled = compilePolicy(MEDIUM);
    const target = store();
    const { store: recording, batches } = recordingStore(target);
    const hooks = { onCorrupt: (_key: string, error: Error) => expect.fail(error.message) };
    const state = new MetricState(METRIC, compiled);

    state.apply([START_US, START_US + MINUTE_US], [1, 9]);
    await compactMetric(recording, METRIC, changesOf(state), compiled, hooks);
    expect(batches).toHaveLength(1);
    // 6 methods × 2 granularities and the raw tail, but std of one-point minutes: none.
    expect(batches[0]).toHaveLength(12);
    const hourly = (method: string) =>
      `${METRIC}/${method}_3600.0_${(START_US - (START_US % (3600 * HOUR_US))) / 1e6}.0_v3`;
    expect(batches[0]).toContain(hourly('max'));
    const maxBefore = await target.get(hourly('max'));

    // Within the same hour and between 1 and 9: the hour's min and max stay as they are.
    state.apply([START_US + 2 * MINUTE_US], [4]);
    await compactMetric(recording, METRIC, changesOf(state), compiled, hooks);
    expect(batches).toHaveLength(2);
    expect(batches[1]).not.toContain(hourly('min'));
    expect(batches[1]).not.toContain(hourly('max'));
    expect(batches[1]).toEqual(expect.arrayContaining([hourly('mean'), hourly('count'), rawTailKey(METRIC)]));
    expect(batches[1]).toHaveLength(10);
    expect(await target.get(hourly('max'))).toEqual(maxBefore);
  });
});
