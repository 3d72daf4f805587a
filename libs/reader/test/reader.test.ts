import { BoundedLru } from '@granary/bounded-cache';
import type { Points } from '@granary/carbonara';
import { type ObjectStore, type Segment, splitObjectKey } from '@granary/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DecodedSplit, type ReadQuery, StoredMeasureReader, readerErrors } from '../index.ts';
import {
  METRIC,
  OTHER_METRIC,
  PARTITION,
  PARTITIONS,
  S,
  TOPIC,
  at,
  points,
  putCheckpoint,
  putSplit,
  temporaryStore,
} from './support.ts';

let store: ObjectStore;
let cleanup: () => void;
beforeEach(() => {
  ({ store, cleanup } = temporaryStore());
});
afterEach(() => cleanup());

/** A metric whose policy keeps 60 s buckets for `timespan` seconds (null: forever) and 1 h ones. */
const metric = (timespan: number | null = null) => ({
  id: METRIC,
  archivePolicy: {
    definition: [
      { granularity: 60, timespan },
      { granularity: 3600, timespan: null },
    ],
  },
});

const query = (overrides: Partial<ReadQuery> = {}): ReadQuery => ({
  metric: metric(),
  aggregation: 'mean',
  granularities: [60],
  refresh: false,
  ...overrides,
});

const readerOver = (objects: ObjectStore, refreshed: number[] = []) =>
  new StoredMeasureReader({
    store: objects,
    topic: TOPIC,
    partitions: PARTITIONS,
    segmentCache: new BoundedLru<Segment>(1024 * 1024),
    refresher: { refresh: async (partition) => void refreshed.push(partition) },
  });

/** The metric's 60 s means as a compacted split. */
const putMeanSplit = (...series: [number, number][]) => putSplit(store, METRIC, 'mean', 60, points(series));

/** The metric's 60 s means as a segment entry. */
const meanDelta = (...series: [number, number][]) => ({
  metricId: METRIC,
  method: 'mean',
  granularitySeconds: 60,
  series: points(series),
});

const pairs = (series: Points) => [...series.timestamps].map((t, i) => [t, series.values[i]]);

describe('StoredMeasureReader', () => {
  it('takes a split from its cache only while the stored bytes are those it was decoded from', async () => {
    const key = await putMeanSplit([at(0), 1]);
    const splitCache = new BoundedLru<DecodedSplit>(1024 * 1024);
    const reader = new StoredMeasureReader({
      store,
      topic: TOPIC,
      partitions: PARTITIONS,
      segmentCache: new BoundedLru<Segment>(1024 * 1024),
      splitCache,
    });
    expect(pairs((await reader.read(query()))[0]!.points)).toEqual([[at(0), 1]]);
    const cached = splitCache.get(key)!;
    expect(pairs(cached.points)).toEqual([[at(0), 1]]);
    // A planted entry with the stored bytes is served as is: the split is not decoded again.
    splitCache.set(key, { bytes: cached.bytes, points: points([[at(0), 42]]) });
    expect(pairs((await reader.read(query()))[0]!.points)).toEqual([[at(0), 42]]);
    // Compaction rewrote the split: other bytes, so it is decoded again and the entry replaced.
    await putMeanSplit([at(0), 7]);
    expect(pairs((await reader.read(query()))[0]!.points)).toEqual([[at(0), 7]]);
    expect(pairs(splitCache.get(key)!.points)).toEqual([[at(0), 7]]);
    // Reads never hand out the cached arrays themselves.
    (await reader.read(query()))[0]!.points.values.fill(0);
    expect(pairs((await reader.read(query()))[0]!.points)).toEqual([[at(0), 7]]);
  });

  it('answers empty series for a metric never written', async () => {
    const series = await readerOver(store).read(query({ granularities: [60, 3600] }));
    expect(series.map((s) => [s.granularitySeconds, s.points.timestamps.length])).toEqual([
      [60, 0],
      [3600, 0],
    ]);
  });

  it('reads the compacted splits of the asked method and granularity', async () => {
    await putMeanSplit([at(0), 1], [at(60), 2]);
    await putSplit(store, METRIC, 'max', 60, points([[at(0), 10]]));
    await putSplit(store, METRIC, 'mean', 3600, points([[at(0), 1.5]]));
    const [series] = await readerOver(store).read(query());
    expect(pairs(series!.points)).toEqual([
      [at(0), 1],
      [at(60), 2],
    ]);
  });

  it('overlays the live segments on the splits, the newest segment winning', async () => {
    await putMeanSplit([at(0), 1], [at(60), 2]);
    await putCheckpoint(store, [
      [meanDelta([at(60), 3], [at(120), 4])],
      [
        meanDelta([at(120), 5]),
        { metricId: OTHER_METRIC, method: 'mean', granularitySeconds: 60, series: points([[at(180), 9]]) },
        { metricId: METRIC, method: 'max', granularitySeconds: 60, series: points([[at(180), 9]]) },
      ],
    ]);
    const [series] = await readerOver(store).read(query());
    expect(pairs(series!.points)).toEqual([
      [at(0), 1],
      [at(60), 3],
      [at(120), 5],
    ]);
  });

  it('reads a rebuilt metric from its reset segment on, ignoring its void splits and older segments', async () => {
    await putMeanSplit([at(0), 1]);
    await putCheckpoint(
      store,
      [[meanDelta([at(60), 2])], [meanDelta([at(120), 3])], [meanDelta([at(180), 4])]],
      [{ metricId: METRIC, seq: 1 }],
    );
    const [series] = await readerOver(store).read(query());
    expect(pairs(series!.points)).toEqual([
      [at(120), 3],
      [at(180), 4],
    ]);
  });

  it('keeps [start rounded down to the granularity, stop)', async () => {
    await putMeanSplit([at(0), 1], [at(60), 2], [at(120), 3], [at(180), 4]);
    const [series] = await readerOver(store).read(query({ start: at(90), stop: at(180) }));
    expect(pairs(series!.points)).toEqual([
      [at(60), 2],
      [at(120), 3],
    ]);
  });

  it("truncates to the timespan behind the last point, as Gnocchi's read does", async () => {
    await putMeanSplit([at(0), 1], [at(60), 2], [at(120), 3]);
    await putCheckpoint(store, [[meanDelta([at(180), 4])]]);
    const [series] = await readerOver(store).read(query({ metric: metric(120) }));
    expect(pairs(series!.points)).toEqual([
      [at(120), 3],
      [at(180), 4],
    ]);
  });

  it('reads only the splits from the one holding start to the one holding stop', async () => {
    const splitSeconds = 3600 * 60; // 3600 points of 60 s
    await putMeanSplit([at(0), 1]);
    await putMeanSplit([at(splitSeconds), 2]);
    await putMeanSplit([at(2 * splitSeconds), 3]);
    // The timespan counts back from the last point read, not the last point stored (Gnocchi).
    const [series] = await readerOver(store).read(
      query({ metric: metric(splitSeconds), start: at(splitSeconds), stop: at(splitSeconds + 60) }),
    );
    expect(pairs(series!.points)).toEqual([[at(splitSeconds), 2]]);
  });

  it('re-reads the manifest when a compaction deleted a segment it named', async () => {
    const [segment] = await putCheckpoint(store, [[meanDelta([at(0), 7])]]);
    // The first read of the segment finds it folded into a split and dropped from the manifest.
    let compacted = false;
    const racing: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
      get: async (key: string) => {
        if (key === segment && !compacted) {
          compacted = true;
          await putMeanSplit([at(0), 7]);
          await putCheckpoint(store, []);
          await store.delete([key]);
          return undefined;
        }
        return store.get(key);
      },
    });
    const [series] = await readerOver(racing).read(query());
    expect(compacted).toBe(true);
    expect(pairs(series!.points)).toEqual([[at(0), 7]]);
  });

  it('gives up with READER_SEGMENTS_MOVING when named segments keep vanishing', async () => {
    const [segment] = await putCheckpoint(store, [[meanDelta([at(0), 7])]]);
    await store.delete([segment!]);
    const failure = await readerOver(store)
      .read(query())
      .catch((err: unknown) => err);
    expect(readerErrors.is(failure, 'READER_SEGMENTS_MOVING')).toBe(true);
  });

  it('fetches each live segment from the store once', async () => {
    const [segment] = await putCheckpoint(store, [[meanDelta([at(0), 7])]]);
    const fetched: string[] = [];
    const counting: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
      get: async (key: string) => {
        fetched.push(key);
        return store.get(key);
      },
    });
    const reader = readerOver(counting);
    for (let i = 0; i < 3; i++) {
      const [series] = await reader.read(query());
      expect(pairs(series!.points)).toEqual([[at(0), 7]]);
    }
    expect(fetched.filter((key) => key === segment)).toHaveLength(1);
  });

  it("refreshes the metric's partition first when asked, and only then", async () => {
    const refreshed: number[] = [];
    const reader = readerOver(store, refreshed);
    await reader.read(query());
    expect(refreshed).toEqual([]);
    await reader.read(query({ refresh: true }));
    expect(refreshed).toEqual([PARTITION]);
  });

  it('refuses a split it cannot decode with READER_CORRUPT_OBJECT', async () => {
    const key = splitObjectKey(METRIC, { method: 'mean', granularityUs: 60 * S, splitKeyUs: 0 });
    await store.put(key, Uint8Array.from([1, 2, 3]));
    const failure = await readerOver(store)
      .read(query())
      .catch((err: unknown) => err);
    expect(readerErrors.is(failure, 'READER_CORRUPT_OBJECT')).toBe(true);
  });
});
