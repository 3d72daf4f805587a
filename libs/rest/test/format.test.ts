import { describe, expect, it } from 'vitest';
import { isoSecondsFromMicros, measureRowsJson } from '../src/format.ts';
import { pythonJson } from '../src/http.ts';

const S = 1_000_000;

describe('measureRowsJson', () => {
  it('writes exactly what pythonJson writes for the same rows, special values and several series included', () => {
    const minute = { timestamps: new Float64Array(3), values: new Float64Array([1.5, Number.NaN, -2]) };
    // Crosses midnight, and a leap day, so the per-day date prefix changes inside the series.
    [1_709_164_740, 1_709_164_800, 1_709_251_199].forEach((seconds, i) => {
      minute.timestamps[i] = seconds * S + 250_000;
    });
    const year = {
      timestamps: new Float64Array([-86_400 * S, 0, 1_700_000_000 * S]),
      values: new Float64Array([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e21]),
    };
    const series = [
      { points: year, granularity: 'Y' },
      { points: minute, granularity: 60 },
      { points: { timestamps: new Float64Array(0), values: new Float64Array(0) }, granularity: 3600 },
    ];
    const rows = series.flatMap(({ points, granularity }) =>
      Array.from(points.timestamps, (t, i) => [isoSecondsFromMicros(t), granularity, points.values[i]]),
    );
    const text = measureRowsJson(series).toString('latin1');
    expect(text).toBe(pythonJson(rows));
    expect(text).toContain('["2024-02-29T23:59:59+00:00", 60, -2]');
    expect(text).toContain('["1969-12-31T00:00:00+00:00", "Y", Infinity]');
    expect(measureRowsJson([]).toString()).toBe('[]');
  });
});

describe('isoSecondsFromMicros', () => {
  it('agrees with Date for times across days, years and before 1970, truncating to the second', () => {
    for (const seconds of [0, 59, 86_399, 86_400, 951_782_400, 1_709_251_199, -1, -86_401, 4_102_444_800]) {
      const expected = `${new Date(seconds * 1000).toISOString().slice(0, 19)}+00:00`;
      expect(isoSecondsFromMicros(seconds * S + 999_999), String(seconds)).toBe(expected);
    }
  });
});
