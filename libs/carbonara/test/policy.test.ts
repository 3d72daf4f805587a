import { describe, expect, it } from 'vitest';
import {
  AGGREGATION_METHODS,
  DEFAULT_AGGREGATION_METHODS,
  DEFAULT_ARCHIVE_POLICIES,
  type Granularity,
  createArchivePolicy,
  isAggregationMethod,
  nextSplitKey,
  resample,
  splitKeyOf,
} from '../index.ts';
import { isoToMicros } from './helpers.ts';

const SECOND = 1_000_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const invalidPolicy = expect.objectContaining({ code: 'CARBONARA_INVALID_POLICY' });

describe('aggregation methods', () => {
  it('has the 216 methods of Gnocchi', () => {
    expect(AGGREGATION_METHODS).toHaveLength(216);
    expect(new Set(AGGREGATION_METHODS).size).toBe(216);
    for (const name of ['mean', 'count', '1pct', '99pct', 'rate:median', 'rate:42pct']) {
      expect(isAggregationMethod(name)).toBe(true);
    }
    for (const name of ['0pct', '100pct', '05pct', 'rate:rate:mean', 'avg', '']) {
      expect(isAggregationMethod(name)).toBe(false);
    }
  });
});

describe('createArchivePolicy', () => {
  it('resolves any two of granularity, points and timespan', () => {
    const policy = createArchivePolicy({
      name: 'p',
      definition: [
        { granularity: SECOND, points: 60 },
        { granularity: MINUTE, timespan: DAY },
        { points: 24, timespan: DAY },
        { granularity: 7 * DAY },
      ],
    });
    expect(policy.definition).toEqual([
      { granularity: SECOND, points: 60, timespan: MINUTE },
      { granularity: MINUTE, points: 1440, timespan: DAY },
      { granularity: HOUR, points: 24, timespan: DAY },
      { granularity: 7 * DAY, points: null, timespan: null },
    ]);
    expect(policy.maxBlockSize).toBe(7 * DAY);
    expect(policy.aggregationMethods).toEqual(['mean', 'sum', 'max', 'min', 'std', 'count']);
    expect(policy.aggregations).toHaveLength(24);
  });

  it('expands *, +m and -m like Gnocchi', () => {
    const methods = (aggregationMethods: string[]) =>
      createArchivePolicy({ name: 'p', definition: [{ granularity: SECOND }], aggregationMethods })
        .aggregationMethods;
    expect(methods(['*'])).toEqual(AGGREGATION_METHODS);
    expect(methods(['*', '-rate:mean'])).toHaveLength(215);
    expect(methods(['+median', '-std'])).toEqual(['mean', 'sum', 'max', 'min', 'median', 'count']);
    expect(methods([])).toEqual(
      [...DEFAULT_AGGREGATION_METHODS].sort(
        (a, b) => AGGREGATION_METHODS.indexOf(a) - AGGREGATION_METHODS.indexOf(b),
      ),
    );
    expect(methods(['last', '+rate:last', '-last'])).toEqual(['rate:last']);
    expect(() => methods(['avg'])).toThrow(expect.objectContaining({ code: 'CARBONARA_UNKNOWN_METHOD' }));
    expect(() => methods(['+100pct'])).toThrow(expect.objectContaining({ code: 'CARBONARA_UNKNOWN_METHOD' }));
  });

  it('rejects invalid definitions with clear errors', () => {
    const cases: [unknown, string][] = [
      [{ definition: [] }, 'at least one granularity'],
      [{ definition: [{ points: 5 }] }, 'at least two of granularity/points/timespan'],
      [{ definition: [{ granularity: 0 }] }, 'granularity should be a positive'],
      [{ definition: [{ granularity: SECOND, points: 0 }] }, 'number of points should be a positive'],
      [
        { definition: [{ granularity: SECOND, points: 2, timespan: 3 * SECOND }] },
        'timespan ≠ granularity × points',
      ],
      [{ definition: [{ granularity: HOUR, timespan: MINUTE }] }, 'calculated number of points'],
      [{ definition: [{ granularity: SECOND }, { granularity: SECOND, points: 3 }] }, 'same granularity'],
      [{ backWindow: -1, definition: [{ granularity: SECOND }] }, 'back window'],
    ];
    for (const [input, message] of cases) {
      expect(() => createArchivePolicy({ name: 'p', ...(input as { definition: [] }) })).toThrow(
        invalidPolicy,
      );
      expect(() => createArchivePolicy({ name: 'p', ...(input as { definition: [] }) })).toThrow(message);
    }
  });

  it("ships Gnocchi's and Ceilometer's default policies", () => {
    expect(Object.keys(DEFAULT_ARCHIVE_POLICIES).sort()).toEqual([
      'bool',
      'ceilometer-high',
      'ceilometer-high-rate',
      'ceilometer-low',
      'ceilometer-low-rate',
      'high',
      'low',
      'medium',
    ]);
    expect(DEFAULT_ARCHIVE_POLICIES.bool).toMatchObject({
      backWindow: 3600,
      definition: [{ granularity: SECOND, points: 31_536_000, timespan: 365 * DAY }],
      aggregationMethods: ['last'],
      maxBlockSize: SECOND,
    });
    expect(DEFAULT_ARCHIVE_POLICIES.medium.definition).toEqual([
      { granularity: MINUTE, points: 10_080, timespan: 7 * DAY },
      { granularity: HOUR, points: 8760, timespan: 365 * DAY },
    ]);
    expect(DEFAULT_ARCHIVE_POLICIES.high.maxBlockSize).toBe(HOUR);
    expect(DEFAULT_ARCHIVE_POLICIES.low.definition).toEqual([
      { granularity: 5 * MINUTE, points: 8640, timespan: 30 * DAY },
    ]);
    expect(DEFAULT_ARCHIVE_POLICIES['ceilometer-low-rate']).toMatchObject({
      definition: [{ granularity: 5 * MINUTE, points: 8640, timespan: 30 * DAY }],
      aggregationMethods: ['mean', 'rate:mean'],
    });
    expect(DEFAULT_ARCHIVE_POLICIES['ceilometer-high'].definition).toEqual([
      { granularity: SECOND, points: 3600, timespan: HOUR },
      { granularity: MINUTE, points: 1440, timespan: DAY },
      { granularity: HOUR, points: 8760, timespan: 365 * DAY },
    ]);
  });
});

describe('split keys', () => {
  it("match Gnocchi's SplitKey tests", () => {
    const hourly = splitKeyOf(isoToMicros('2015-01-01T15:03:00'), HOUR);
    expect(hourly).toBe(isoToMicros('2014-10-07T00:00:00'));
    expect(nextSplitKey(hourly, HOUR)).toBe(isoToMicros('2015-03-06T00:00:00'));
    expect(nextSplitKey(nextSplitKey(hourly, HOUR), HOUR)).toBe(isoToMicros('2015-08-03T00:00:00'));
    expect(splitKeyOf(isoToMicros('2015-01-01T15:03:58'), 58 * SECOND)).toBe(
      isoToMicros('2014-12-31T18:00:00'),
    );
  });

  it('splits 100000 one-second points resampled at 5 s into 6 splits', () => {
    const points = {
      timestamps: Float64Array.from({ length: 100_000 }, (_, index) => index * SECOND),
      values: new Float64Array(100_000),
    };
    const resampled = resample(points, 5 * SECOND, 'mean');
    const keys = [...new Set(Array.from(resampled.timestamps, (ts) => splitKeyOf(ts, 5 * SECOND)))];
    expect(keys).toHaveLength(6);
    expect(keys.slice(0, 2)).toEqual([0, isoToMicros('1970-01-01T05:00:00')]);
  });
});

describe('resample', () => {
  const at = (iso: string) => isoToMicros(iso);
  const points = {
    timestamps: Float64Array.from(
      ['2015-03-06T14:33:57', '2015-03-06T14:34:12', '2015-03-06T14:35:12', '2015-03-06T14:35:15'].map(at),
    ),
    values: Float64Array.from([43.1, 12, 9, 11]),
  };

  it("regroups points with the same method (Gnocchi's metric.yaml resample=60)", () => {
    const perSecond = resample(points, SECOND, 'mean');
    const perMinute = resample(perSecond, MINUTE, 'mean');
    expect(Array.from(perMinute.timestamps)).toEqual(
      ['2015-03-06T14:33:00', '2015-03-06T14:34:00', '2015-03-06T14:35:00'].map(at),
    );
    expect(Array.from(perMinute.values)).toEqual([43.1, 12, 10]);
  });

  it('groups by calendar year, half, quarter, month and Sunday-start week', () => {
    const series = {
      timestamps: Float64Array.from(
        [
          '2015-01-01T00:00:00',
          '2015-03-31T23:59:59',
          '2015-05-04T10:00:00',
          '2015-08-08T00:00:00',
          '2016-02-29T12:00:00',
        ].map(at),
      ),
      values: Float64Array.from([1, 2, 3, 4, 5]),
    };
    const stamps = (unit: Granularity) => Array.from(resample(series, unit, 'count').timestamps);
    expect(stamps('Y')).toEqual(['2015-01-01T00:00:00', '2016-01-01T00:00:00'].map(at));
    expect(stamps('H')).toEqual(
      ['2015-01-01T00:00:00', '2015-07-01T00:00:00', '2016-01-01T00:00:00'].map(at),
    );
    expect(stamps('Q')).toEqual(
      ['2015-01-01T00:00:00', '2015-04-01T00:00:00', '2015-07-01T00:00:00', '2016-01-01T00:00:00'].map(at),
    );
    expect(stamps('M')).toEqual(
      [
        '2015-01-01T00:00:00',
        '2015-03-01T00:00:00',
        '2015-05-01T00:00:00',
        '2015-08-01T00:00:00',
        '2016-02-01T00:00:00',
      ].map(at),
    );
    expect(stamps('W')).toEqual(
      [
        '2014-12-28T00:00:00',
        '2015-03-29T00:00:00',
        '2015-05-03T00:00:00',
        '2015-08-02T00:00:00',
        '2016-02-28T00:00:00',
      ].map(at),
    );
    expect(Array.from(resample(series, 'Q', 'count').values)).toEqual([2, 1, 1, 1]);
  });

  it('treats NaN as Gnocchi does (expected values from Gnocchi 4.7.1)', () => {
    const withNaN = {
      timestamps: Float64Array.from({ length: 9 }, (_, index) => index * SECOND),
      values: Float64Array.from([3, Number.NaN, 1, 5, 7, 2, Number.NaN, Number.NaN, 4]),
    };
    const expected: Record<string, number[]> = {
      min: [1, 2, 4],
      max: [Number.NaN, 7, Number.NaN],
      median: [3, 5, Number.NaN],
      '50pct': [3, 5, Number.NaN],
      '90pct': [Number.NaN, 6.6, Number.NaN],
      mean: [Number.NaN, 4.666666666666667, Number.NaN],
      first: [3, 5, Number.NaN],
      last: [1, 2, 4],
      count: [3, 3, 3],
      std: [Number.NaN, 2.516611478423583, Number.NaN],
    };
    for (const [method, values] of Object.entries(expected)) {
      expect([method, Array.from(resample(withNaN, 3 * SECOND, method).values)]).toEqual([method, values]);
    }
  });

  it('refuses rate methods on calendar granularities and invalid granularities', () => {
    expect(() => resample(points, 'M', 'rate:mean')).toThrow(
      expect.objectContaining({ code: 'CARBONARA_INVALID_ARGUMENT' }),
    );
    expect(() => resample(points, 0, 'mean')).toThrow(
      expect.objectContaining({ code: 'CARBONARA_INVALID_ARGUMENT' }),
    );
    expect(() => resample(points, MINUTE, 'avg')).toThrow(
      expect.objectContaining({ code: 'CARBONARA_UNKNOWN_METHOD' }),
    );
  });
});
