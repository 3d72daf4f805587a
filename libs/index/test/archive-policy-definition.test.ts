import { describe, expect, it } from 'vitest';
import { indexError, validateArchivePolicy } from '../index.ts';

const description = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (indexError.is(err)) return err.details?.description;
    throw err;
  }
  throw new Error('expected a refusal');
};

describe('archive policy validation seam', () => {
  it("completes items from two of granularity/points/timespan (archive.yaml's cases)", () => {
    const policy = validateArchivePolicy({
      name: 'p',
      definition: [
        { timespan: 3600, points: 1000 },
        { timespan: 3600, granularity: 7 },
        { granularity: 10, points: 20 },
        { granularity: 2 },
      ],
    });
    expect(policy.definition).toEqual([
      { granularity: 3.6, points: 1000, timespan: 3600 },
      { granularity: 7, points: 514, timespan: 3598 },
      { granularity: 10, points: 20, timespan: 200 },
      { granularity: 2, points: null, timespan: null },
    ]);
    expect(policy.backWindow).toBe(0);
    expect(policy.aggregationMethods).toEqual(['mean', 'min', 'max', 'sum', 'std', 'count']);
  });

  it("refuses what Gnocchi refuses, with Gnocchi's texts", () => {
    expect(
      description(() =>
        validateArchivePolicy({ name: 'p', definition: [{ granularity: 1, points: 60, timespan: 61 }] }),
      ),
    ).toBe('timespan ≠ granularity × points');
    expect(
      description(() =>
        validateArchivePolicy({
          name: 'p',
          definition: [
            { granularity: 1, points: 60 },
            { granularity: 1, points: 120 },
          ],
        }),
      ),
    ).toBe("More than one archive policy uses granularity `1.0'");
    expect(
      description(() => validateArchivePolicy({ name: 'p', definition: [{ granularity: 0, points: 60 }] })),
    ).toEqual({
      cause: 'Invalid input',
      reason: "Timespan must be positive for dictionary value @ data['definition'][0]['granularity']",
      detail: ['definition', '0', 'granularity'],
    });
    expect(
      description(() => validateArchivePolicy({ name: 'p', definition: [{ granularity: 10, points: 0 }] })),
    ).toMatchObject({
      detail: ['definition', '0', 'points'],
    });
    expect(description(() => validateArchivePolicy({ name: 'p', definition: [] }))).toMatchObject({
      detail: ['definition'],
    });
    expect(
      description(() =>
        validateArchivePolicy({ name: 'p', definition: [{ granularity: 7200, timespan: 3600 }] }),
      ),
    ).toBe('Calculated number of points is < 0');
    expect(
      description(() =>
        validateArchivePolicy({ name: 'p', aggregationMethods: ['wtf'], definition: [{ granularity: 1 }] }),
      ),
    ).toMatchObject({ detail: ['aggregation_methods', '0'] });
  });

  it('accepts the 216 method names, rate: included', () => {
    const policy = validateArchivePolicy({
      name: 'p',
      aggregationMethods: ['rate:mean', '95pct', 'rate:99pct', 'last'],
      definition: [{ granularity: 1 }],
    });
    expect(policy.aggregationMethods).toEqual(['rate:mean', '95pct', 'rate:99pct', 'last']);
  });
});
