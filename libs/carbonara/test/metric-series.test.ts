import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AGGREGATION_METHODS,
  type ArchivePolicy,
  DEFAULT_ARCHIVE_POLICIES,
  MetricSeries,
  type Points,
  createArchivePolicy,
  decodeRawTail,
  decodeSplit,
  encodeRawTail,
  encodeSplit,
  nextSplitKey,
  resample,
  splitKeyOf,
  truncateByTimespan,
} from '../index.ts';
import { NaiveGnocchi, type Pair } from './naive-gnocchi.ts';

const SECOND = 1_000_000;
const BASE = 1_700_000_000 * SECOND;

function pairs(points: Points): Pair[] {
  return Array.from(points.timestamps, (ts, index) => [ts, points.values[index] as number]);
}

const policyArbitrary = fc
  .record({
    granularities: fc.uniqueArray(fc.constantFrom(1, 5, 7, 60, 300), { minLength: 1, maxLength: 3 }),
    points: fc.array(fc.option(fc.integer({ min: 1, max: 50 })), { minLength: 3, maxLength: 3 }),
    backWindow: fc.integer({ min: 0, max: 2 }),
    methods: fc.uniqueArray(fc.constantFrom(...AGGREGATION_METHODS), { minLength: 1, maxLength: 5 }),
  })
  .map(({ granularities, points, backWindow, methods }) =>
    createArchivePolicy({
      name: 'random',
      backWindow,
      definition: granularities.map((seconds, index) => ({
        granularity: seconds * SECOND,
        points: points[index] ?? undefined,
      })),
      aggregationMethods: methods,
    }),
  );

const measureArbitrary = fc.tuple(
  fc.integer({ min: 0, max: 3600 * SECOND }).map((offset) => BASE + offset),
  fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ min: -1000, max: 1000, noNaN: true })),
);

/** Measures in random order, cut into batches at random places. */
const batchesArbitrary = fc
  .tuple(fc.array(measureArbitrary, { minLength: 1, maxLength: 120 }), fc.array(fc.nat(), { maxLength: 6 }))
  .map(([measures, cuts]) => {
    const bounds = [
      0,
      ...cuts.map((cut) => cut % (measures.length + 1)).sort((a, b) => a - b),
      measures.length,
    ];
    return bounds.slice(1).map((end, index) => measures.slice(bounds[index], end) as Pair[]);
  });

function applyAll(series: MetricSeries, batches: Pair[][]) {
  return batches.map((batch) =>
    series.apply(
      batch.map(([ts]) => ts),
      batch.map(([, value]) => value),
    ),
  );
}

function naiveFor(policy: ArchivePolicy): NaiveGnocchi {
  return new NaiveGnocchi({
    backWindow: policy.backWindow,
    definition: policy.definition.map(({ granularity, timespan }) => ({ granularity, timespan })),
    methods: [...policy.aggregationMethods],
  });
}

describe('MetricSeries against a naive Gnocchi model', () => {
  it('gives identical aggregates, raw tail and drop counts for random policies, measures, batches and orders', () => {
    fc.assert(
      fc.property(policyArbitrary, batchesArbitrary, (policy, batches) => {
        const series = new MetricSeries(policy);
        const naive = naiveFor(policy);
        const results = applyAll(series, batches);
        results.forEach((result, index) => {
          const expected = naive.apply(batches[index] as Pair[]);
          expect({ accepted: result.accepted, droppedTooOld: result.droppedTooOld }).toEqual(expected);
        });
        expect(pairs(series.rawTail())).toEqual(naive.raw);
        for (const { method, granularity } of policy.aggregations) {
          expect(pairs(series.points(method, granularity))).toEqual(
            naive.aggregates.get(`${method}@${granularity}`),
          );
        }
      }),
      { numRuns: 150 },
    );
  });

  it('after its buckets are taken, holds exactly the newest buckets recomputed since, as a series that forgets nothing has them, and what was taken stays', () => {
    fc.assert(
      fc.property(policyArbitrary, batchesArbitrary, fc.nat(), (policy, batches, forgetEvery) => {
        const forgetting = new MetricSeries(policy);
        const keeping = new MetricSeries(policy);
        // Per aggregation: earliest bucket recomputed since the last forget.
        let recomputedFrom = new Map<string, number>();
        const applyBoth = (batch: Pair[]) => {
          const [result] = applyAll(forgetting, [batch]);
          applyAll(keeping, [batch]);
          for (const { aggregation, from } of result?.changes ?? []) {
            const key = `${aggregation.method}@${aggregation.granularity}`;
            recomputedFrom.set(key, Math.min(from, recomputedFrom.get(key) ?? from));
          }
        };
        batches.forEach((batch, index) => {
          applyBoth(batch);
          expect(pairs(forgetting.rawTail())).toEqual(pairs(keeping.rawTail()));
          for (const { method, granularity } of policy.aggregations) {
            const from = recomputedFrom.get(`${method}@${granularity}`);
            const held = pairs(forgetting.points(method, granularity));
            expect(held).toEqual(from === undefined ? [] : pairs(keeping.points(method, granularity, from)));
          }
          if (index % ((forgetEvery % 3) + 1) !== 0) return;
          const held = policy.aggregations.flatMap(({ method, granularity }) => {
            const points = pairs(forgetting.points(method, granularity));
            return points.length > 0 ? [{ method, granularity, points }] : [];
          });
          const raw = pairs(forgetting.rawTail());
          const taken = forgetting.takeBuckets();
          recomputedFrom = new Map();
          expect(pairs(forgetting.rawTail())).toEqual(raw);
          for (const { method, granularity } of policy.aggregations) {
            expect(forgetting.points(method, granularity).timestamps.length).toBe(0);
          }
          // What a checkpoint took stays as it was, whatever is applied next.
          applyBoth(batch.map(([ts, value]) => [ts, value + 1]));
          const takenBuckets = taken.buckets(({ method, granularity }, timestamps, values) => ({
            method,
            granularity,
            points: pairs({ timestamps, values }),
          }));
          expect(takenBuckets).toEqual(held);
          expect(pairs(taken.rawTail())).toEqual(raw);
          const middle = raw[Math.floor(raw.length / 2)]?.[0] ?? 0;
          expect(pairs(taken.rawTail(middle))).toEqual(raw.filter(([ts]) => ts >= middle));
        });
      }),
      { numRuns: 150 },
    );
  });

  it('goes on exactly after handing over a long history (the store gives its memory back)', () => {
    const policy = createArchivePolicy({
      name: 'long',
      backWindow: 1,
      definition: [
        { granularity: 60 * SECOND, points: 10_000 },
        { granularity: 300 * SECOND, points: 10_000 },
      ],
      aggregationMethods: ['mean', 'max', 'rate:last'],
    });
    const minutes = (from: number, count: number): Pair[] =>
      Array.from({ length: count }, (_, i) => [BASE + (from + i) * 60 * SECOND, (from + i) % 17]);
    const forgetting = new MetricSeries(policy);
    const keeping = new MetricSeries(policy);
    const history = minutes(0, 5000);
    applyAll(forgetting, [history]);
    applyAll(keeping, [history]);
    forgetting.takeBuckets();
    // New points, then late ones still inside the back window, the last batch not forgotten.
    const batches = [minutes(5000, 30), minutes(4990, 5), minutes(5030, 400)];
    let recomputedFrom = new Map<string, number>();
    batches.forEach((batch, index) => {
      if (index === batches.length - 1) recomputedFrom = new Map();
      const [result] = applyAll(forgetting, [batch]);
      applyAll(keeping, [batch]);
      for (const { aggregation, from } of result?.changes ?? []) {
        const key = `${aggregation.method}@${aggregation.granularity}`;
        recomputedFrom.set(key, Math.min(from, recomputedFrom.get(key) ?? from));
      }
      if (index < batches.length - 1) forgetting.takeBuckets();
    });
    for (const { method, granularity } of policy.aggregations) {
      const held = pairs(forgetting.points(method, granularity));
      const all = pairs(keeping.points(method, granularity));
      expect(held.length).toBeGreaterThan(0);
      expect(held.length).toBeLessThan(all.length / 10);
      expect(held).toEqual(
        pairs(keeping.points(method, granularity, recomputedFrom.get(`${method}@${granularity}`))),
      );
    }
  });

  it('equals one-shot aggregation when batches arrive in time order (plain methods, nested granularities)', () => {
    const nestedPolicy = policyArbitrary.filter(
      (policy) =>
        policy.definition.every(({ granularity }) => policy.maxBlockSize % granularity === 0) &&
        policy.aggregationMethods.every((method) => !method.startsWith('rate:')),
    );
    fc.assert(
      fc.property(nestedPolicy, batchesArbitrary, (policy, batches) => {
        const seen = new Set<number>();
        const ordered = batches.map((batch) =>
          batch.filter(([ts]) => !seen.has(ts) && seen.add(ts)).sort((a, b) => a[0] - b[0]),
        );
        const sorted = ordered.flat().sort((a, b) => a[0] - b[0]);
        // Keep batches in time order: reassign the sorted measures to the same batch sizes.
        const ends = ordered.map((_, index) => ordered.slice(0, index + 1).flat().length);
        const inOrder = ends.map((end, index) => sorted.slice(ends[index - 1] ?? 0, end));
        const series = new MetricSeries(policy);
        const results = applyAll(series, inOrder);
        expect(results.every((result) => result.droppedTooOld === 0)).toBe(true);
        const all: Points = {
          timestamps: Float64Array.from(sorted, ([ts]) => ts),
          values: Float64Array.from(sorted, ([, value]) => value),
        };
        for (const { method, granularity, timespan } of policy.aggregations) {
          const oneShot = resample(all, granularity, method);
          const expected = pairs(timespan === null ? oneShot : truncateByTimespan(oneShot, timespan));
          const actual = pairs(series.points(method, granularity));
          if (!method.endsWith('pct')) {
            expect(actual).toEqual(expected);
            continue;
          }
          // Percentile fractions are rounded at positions counted from the first recomputed
          // point (as numpy does), so the last bits may differ from a one-shot computation.
          expect(actual.map(([ts]) => ts)).toEqual(expected.map(([ts]) => ts));
          actual.forEach(([, value], index) => {
            expect(value).toBeCloseTo((expected[index] as Pair)[1], 6);
          });
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('MetricSeries', () => {
  const medium = DEFAULT_ARCHIVE_POLICIES.medium;
  const MINUTE = 60 * SECOND;
  const HOUR = 60 * MINUTE;

  it('reports the changed buckets and split keys of every aggregation', () => {
    const series = new MetricSeries(medium);
    const start = splitKeyOf(BASE, MINUTE) + 3599 * MINUTE;
    const result = series.apply([start, start + 30 * SECOND, start + MINUTE], [1, 2, 3]);
    expect(result.accepted).toBe(3);
    expect(result.changes.map((change) => change.aggregation)).toEqual(medium.aggregations);
    const minuteMean = result.changes[0];
    expect(minuteMean).toEqual({
      aggregation: { method: 'mean', granularity: MINUTE, timespan: 10_080 * MINUTE },
      from: start,
      to: start + 2 * MINUTE,
      splitKeys: [splitKeyOf(start, MINUTE), nextSplitKey(splitKeyOf(start, MINUTE), MINUTE)],
      oldestKept: start,
    });
    expect(series.points('mean', MINUTE)).toEqual({
      timestamps: Float64Array.from([start, start + MINUTE]),
      values: Float64Array.from([1.5, 3]),
    });
    const hourStd = result.changes.find(
      (change) => change.aggregation.method === 'std' && change.aggregation.granularity === HOUR,
    );
    expect(hourStd?.splitKeys).toEqual([splitKeyOf(start, HOUR)]);
  });

  it('counts and reports points older than the back window instead of applying them', () => {
    const series = new MetricSeries(medium);
    series.apply([BASE + 2 * HOUR], [1]);
    const result = series.apply([BASE, BASE + 2 * HOUR + SECOND], [5, 2]);
    expect(result).toMatchObject({ accepted: 1, droppedTooOld: 1 });
    expect(series.apply([BASE], [5])).toEqual({ accepted: 0, droppedTooOld: 1, changes: [] });
  });

  it('keeps the smallest of duplicate timestamps within a batch, as Gnocchi, and lets later batches win', () => {
    const policy = createArchivePolicy({
      name: 'p',
      definition: [{ granularity: SECOND }],
      aggregationMethods: ['last'],
    });
    const series = new MetricSeries(policy);
    series.apply([BASE, BASE, BASE, BASE], [8, 9, 4, 7]);
    expect(series.points('last', SECOND).values).toEqual(Float64Array.from([4]));
    series.apply([BASE + SECOND, BASE + SECOND, BASE + 2 * SECOND], [-1, -2, 5]);
    expect(series.points('last', SECOND).values).toEqual(Float64Array.from([4, -2, 5]));
    series.apply([BASE + 2 * SECOND], [9]);
    expect(series.points('last', SECOND).values).toEqual(Float64Array.from([4, -2, 9]));
  });

  it('recomputes the whole raw tail when a batch holds a too-old measure, as Gnocchi does', () => {
    const policy = createArchivePolicy({
      name: 'p',
      definition: [{ granularity: 5 * SECOND }],
      aggregationMethods: ['rate:max'],
    });
    const rates = (batches: [number, number][][]) => {
      const series = new MetricSeries(policy);
      for (const batch of batches) {
        series.apply(
          batch.map(([s]) => BASE + s * SECOND),
          batch.map(([, v]) => v),
        );
      }
      const { timestamps, values } = series.points('rate:max', 5 * SECOND);
      return Array.from(timestamps, (t, i) => [(t - BASE) / SECOND, values[i]]);
    };
    // Alone, 118 s starts its bucket's derivation at 110 s: no earlier point there, no delta.
    expect(
      rates([
        [
          [100, 10],
          [107, 20],
        ],
        [[118, 5]],
      ]),
    ).toEqual([[105, 10]]);
    // With a measure older than the back window beside it, Gnocchi derives from the tail's start.
    expect(
      rates([
        [
          [100, 10],
          [107, 20],
        ],
        [
          [118, 5],
          [50, 1],
        ],
      ]),
    ).toEqual([
      [105, 10],
      [115, -15],
    ]);
  });

  it('resumes from encoded state exactly as if it had never stopped', () => {
    fc.assert(
      fc.property(policyArbitrary, batchesArbitrary, batchesArbitrary, (policy, before, after) => {
        const uninterrupted = new MetricSeries(policy);
        applyAll(uninterrupted, before);
        // What a processor checkpoints: the raw tail and every aggregate, through the v3 codec.
        const rawTail = decodeRawTail(encodeRawTail(uninterrupted.rawTail()));
        if (rawTail instanceof Error) throw rawTail;
        const aggregates = policy.aggregations.map(({ method, granularity }) => {
          const points = uninterrupted.points(method, granularity);
          const keys = [...new Set(Array.from(points.timestamps, (ts) => splitKeyOf(ts, granularity)))];
          const decoded = keys.map((key) => {
            const split = series(points, key, nextSplitKey(key, granularity));
            const result = decodeSplit(key, granularity, encodeSplit(key, granularity, split));
            if (result instanceof Error) throw result;
            return pairs(result);
          });
          const flat = decoded.flat();
          return {
            method,
            granularity,
            points: {
              timestamps: Float64Array.from(flat, ([ts]) => ts),
              values: Float64Array.from(flat, ([, value]) => value),
            },
          };
        });
        const resumed = new MetricSeries(policy, { rawTail, aggregates });
        expect(applyAll(resumed, after)).toEqual(applyAll(uninterrupted, after));
        for (const { method, granularity } of policy.aggregations) {
          expect(resumed.points(method, granularity)).toEqual(uninterrupted.points(method, granularity));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('fetches a range with the start floored to the granularity, end exclusive', () => {
    const series = new MetricSeries(medium);
    const minute = splitKeyOf(BASE, MINUTE);
    series.apply([minute, minute + MINUTE, minute + 2 * MINUTE], [1, 2, 3]);
    expect(series.points('sum', MINUTE, minute + 30 * SECOND, minute + 2 * MINUTE).values).toEqual(
      Float64Array.from([1, 2]),
    );
  });

  it('re-truncates a restored raw tail to the policy back window', () => {
    const rawTail = {
      timestamps: Float64Array.from([0, 1, 2, 3, 4].map((hour) => splitKeyOf(BASE, HOUR) + hour * HOUR)),
      values: Float64Array.from([1, 2, 3, 4, 5]),
    };
    const withBackWindow = createArchivePolicy({
      name: 'p',
      backWindow: 2,
      definition: [{ granularity: HOUR }],
    });
    expect(new MetricSeries(withBackWindow, { rawTail }).rawTail().values).toEqual(
      Float64Array.from([3, 4, 5]),
    );
  });

  it('refuses a snapshot whose points are out of order', () => {
    const unordered = { timestamps: Float64Array.from([2, 1]), values: Float64Array.from([0, 0]) };
    expect(() => new MetricSeries(medium, { rawTail: unordered })).toThrow(
      expect.objectContaining({ code: 'CARBONARA_INVALID_ARGUMENT' }),
    );
    expect(
      () =>
        new MetricSeries(medium, {
          aggregates: [{ method: 'mean', granularity: MINUTE, points: unordered }],
        }),
    ).toThrow(expect.objectContaining({ code: 'CARBONARA_INVALID_ARGUMENT' }));
  });

  it('rejects invalid measures and unknown aggregations with coded errors', () => {
    const series = new MetricSeries(medium);
    expect(() => series.apply([1, 2], [1])).toThrow(
      expect.objectContaining({ code: 'CARBONARA_INVALID_MEASURE' }),
    );
    expect(() => series.apply([-1], [1])).toThrow(
      expect.objectContaining({ code: 'CARBONARA_INVALID_MEASURE' }),
    );
    expect(() => series.apply([1.5], [1])).toThrow(
      expect.objectContaining({ code: 'CARBONARA_INVALID_MEASURE' }),
    );
    expect(() => series.points('median', MINUTE)).toThrow(
      expect.objectContaining({ code: 'CARBONARA_INVALID_ARGUMENT' }),
    );
  });
});

function series(points: Points, from: number, to: number): Points {
  const first = points.timestamps.findIndex((ts) => ts >= from);
  let end = points.timestamps.findIndex((ts) => ts >= to);
  if (end === -1) end = points.timestamps.length;
  return { timestamps: points.timestamps.slice(first, end), values: points.values.slice(first, end) };
}
