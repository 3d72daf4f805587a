import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Points, mergePoints, pointsInRange, truncateByTimespan } from '../index.ts';

type Pair = [number, number];

const seriesArbitrary = fc
  .uniqueArray(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: -9, max: 9 })), {
    selector: ([ts]) => ts,
    maxLength: 60,
  })
  .map((pairs) => pairs.sort((a, b) => a[0] - b[0]) as Pair[]);

function toPoints(pairs: Pair[]): Points {
  return {
    timestamps: Float64Array.from(pairs, ([ts]) => ts),
    values: Float64Array.from(pairs, ([, v]) => v),
  };
}

function toPairs(points: Points): Pair[] {
  return Array.from(points.timestamps, (ts, index) => [ts, points.values[index] as number]);
}

describe('series helpers', () => {
  it('mergePoints is the sorted union where the newer series wins', () => {
    fc.assert(
      fc.property(seriesArbitrary, seriesArbitrary, (older, newer) => {
        const expected = [...new Map([...older, ...newer])].sort((a, b) => a[0] - b[0]);
        expect(toPairs(mergePoints(toPoints(older), toPoints(newer)))).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('truncateByTimespan keeps points strictly after last - timespan', () => {
    fc.assert(
      fc.property(seriesArbitrary, fc.integer({ min: 1, max: 1200 }), (series, timespan) => {
        const last = series[series.length - 1]?.[0] ?? 0;
        expect(toPairs(truncateByTimespan(toPoints(series), timespan))).toEqual(
          series.filter(([ts]) => ts > last - timespan),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('pointsInRange keeps from <= ts < to', () => {
    fc.assert(
      fc.property(seriesArbitrary, fc.option(fc.nat(1000)), fc.option(fc.nat(1000)), (series, from, to) => {
        expect(toPairs(pointsInRange(toPoints(series), from ?? undefined, to ?? undefined))).toEqual(
          series.filter(([ts]) => (from === null || ts >= from) && (to === null || ts < to)),
        );
      }),
      { numRuns: 200 },
    );
  });
});
