import { BoundedLru } from '@granary/bounded-cache';
import { type Registry, createRegistry, prometheusInstruments } from '@granary/observability';
import type { ObjectStore, Segment } from '@granary/storage';
import { metricValue } from '@granary/testing/metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DecodedSplit, type ReadQuery, StoredMeasureReader, readerErrors } from '../index.ts';
import { METRIC, PARTITIONS, TOPIC, at, points, putCheckpoint, putSplit, temporaryStore } from './support.ts';

let store: ObjectStore;
let cleanup: () => void;
let registry: Registry;
beforeEach(() => {
  ({ store, cleanup } = temporaryStore());
  registry = createRegistry('test');
});
afterEach(() => cleanup());

const query = (refresh: boolean): ReadQuery => ({
  metric: { id: METRIC, archivePolicy: { definition: [{ granularity: 60, timespan: null }] } },
  aggregation: 'mean',
  granularities: [60],
  refresh,
});

const value = (name: string, labels: Record<string, string> = {}) => metricValue(registry, name, labels);

/** A reader measured in `into` (this test's registry), its split cache bounded to `splitCacheBytes`. */
function measuredReader(refresh: () => Promise<void>, splitCacheBytes = 1024 * 1024, into = registry) {
  const splitCache = new BoundedLru<DecodedSplit>(splitCacheBytes);
  const reader = new StoredMeasureReader({
    store,
    topic: TOPIC,
    partitions: PARTITIONS,
    segmentCache: new BoundedLru<Segment>(1024 * 1024),
    splitCache,
    refresher: { refresh },
    instruments: prometheusInstruments(into),
  });
  return { reader, splitCache };
}

const lookups = (cache: string, outcome: string) =>
  value('granary_reader_cache_lookups_total', { cache, outcome });

describe('reader metrics', () => {
  it('counts cache hits, misses, evictions and the bytes each cache holds', async () => {
    await putSplit(store, METRIC, 'mean', 60, points([[at(0), 1]]));
    const mean = (t: number, v: number) => ({
      metricId: METRIC,
      method: 'mean',
      granularitySeconds: 60,
      series: points([[t, v]]),
    });
    await putCheckpoint(store, [[mean(at(60), 2)]]);
    // What one decoded split of one point weighs: the cache below holds one and not two.
    const probe = measuredReader(async () => {}, 1024 * 1024, createRegistry('probe'));
    await probe.reader.read(query(false));
    const oneSplit = probe.splitCache.weight;

    const { reader } = measuredReader(async () => {}, oneSplit * 1.5);
    await reader.read(query(false));
    await reader.read(query(false));
    expect([await lookups('split', 'miss'), await lookups('split', 'hit')]).toEqual([1, 1]);
    expect([await lookups('segment', 'miss'), await lookups('segment', 'hit')]).toEqual([1, 1]);
    expect(await value('granary_reader_cache_bytes', { cache: 'split' })).toBe(oneSplit);
    expect(await value('granary_reader_cache_bytes', { cache: 'segment' })).toBeGreaterThan(0);
    expect(await value('granary_reader_cache_evictions_total', { cache: 'split' })).toBe(0);

    // A split a month later, read with the first: it takes the first one's place.
    await putSplit(store, METRIC, 'mean', 60, points([[at(86_400 * 30), 3]]));
    await reader.read(query(false));
    expect(await value('granary_reader_cache_evictions_total', { cache: 'split' })).toBe(1);
    expect(await value('granary_reader_cache_bytes', { cache: 'split' })).toBe(oneSplit);
  });

  it('counts reads and times refresh waits by outcome: ok, the error code, or unexpected', async () => {
    const refreshFailures: Error[] = [
      readerErrors('READER_SEGMENTS_MOVING', 'stand-in for a coded failure'),
      Object.assign(new Error('gone'), { code: 'ECONNRESET' }),
    ];
    const { reader } = measuredReader(async () => {
      const failure = refreshFailures.shift();
      if (failure) throw failure;
    });
    await expect(reader.read(query(true))).rejects.toMatchObject({ code: 'READER_SEGMENTS_MOVING' });
    await expect(reader.read(query(true))).rejects.toThrow('gone');
    await reader.read(query(true));
    await reader.read(query(false));
    const reads = (outcome: string) => value('granary_reader_reads_total', { outcome });
    const waits = (outcome: string) => value('granary_reader_refresh_wait_seconds', { outcome, le: '+Inf' });
    // A failure that is not a coded error gets one outcome, whatever its message or errno.
    expect([await reads('ok'), await reads('READER_SEGMENTS_MOVING'), await reads('unexpected')]).toEqual([
      2, 1, 1,
    ]);
    expect([await waits('ok'), await waits('READER_SEGMENTS_MOVING'), await waits('unexpected')]).toEqual([
      1, 1, 1,
    ]);
  });
});
