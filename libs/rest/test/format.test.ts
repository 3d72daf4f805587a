import type { Points } from '@granary/carbonara';
import { pyFloatJson, pythonJson } from '@granary/python-format';
import { describe, expect, it } from 'vitest';
import { WrittenRows, isoFromMicros, measureRowsJson, pythonTimedelta } from '../src/format.ts';

const S = 1_000_000;
/** Gnocchi's measure timestamp by Date: truncated to the second. */
const isoSecondsOf = (micros: number) =>
  `${new Date(Math.floor(micros / S) * 1000).toISOString().slice(0, 19)}+00:00`;

/** The body row by row through the per-value formatters, as `measureRowsJson` must write it. */
function slowMeasureRows(series: readonly { points: Points; granularity: number | string }[]): string {
  const rows = series.flatMap(({ points, granularity }) =>
    Array.from(points.timestamps, (t, i) => {
      const written = typeof granularity === 'number' ? pyFloatJson(granularity) : pythonJson(granularity);
      return `["${isoSecondsOf(t)}", ${written}, ${pyFloatJson(points.values[i] as number)}]`;
    }),
  );
  return `[${rows.join(', ')}]`;
}

/** A double from a mix of shapes real aggregates take, and the edges of each formatting path. */
function randomValue(random: () => number): number {
  const sign = random() < 0.3 ? -1 : 1;
  switch (Math.floor(random() * 8)) {
    case 0:
      return sign * Math.floor(random() * 1e6); // whole
    case 1:
      return (sign * Math.round(random() * 1e7)) / 10 ** Math.floor(1 + random() * 4); // 1 to 4 decimals
    case 2:
      return sign * random() * 10 ** Math.floor(random() * 40 - 20); // any magnitude
    case 3:
      return sign * 10 ** Math.floor(random() * 40 - 20); // powers of ten around the notation switches
    case 4:
      return sign * Math.floor(random() * 2 ** 60); // whole, beyond 2^53
    case 5:
      return [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0][
        Math.floor(random() * 5)
      ] as number;
    case 6:
      return sign * (1e-4 + (random() - 0.5) * 1e-9); // at the fixed-notation edges
    default:
      return sign * random() * 100;
  }
}

/** Deterministic, so a failure names a reproducible case. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('measureRowsJson', () => {
  it("writes Gnocchi's body: Python float repr for granularity and values, NaN and Infinity tokens", () => {
    const points = {
      timestamps: Float64Array.from(
        [0, 60, 120, 180, 240, 300, 360, 420].map((s) => (1_425_652_380 + s) * S),
      ),
      values: Float64Array.from([23.1, 5, -0, 1e16, 1e-7, Number.NaN, Number.NEGATIVE_INFINITY, 0.1 + 0.2]),
    };
    expect(measureRowsJson([{ points, granularity: 60 }]).toString('latin1')).toBe(
      '[["2015-03-06T14:33:00+00:00", 60.0, 23.1], ["2015-03-06T14:34:00+00:00", 60.0, 5.0], ' +
        '["2015-03-06T14:35:00+00:00", 60.0, -0.0], ["2015-03-06T14:36:00+00:00", 60.0, 1e+16], ' +
        '["2015-03-06T14:37:00+00:00", 60.0, 1e-07], ["2015-03-06T14:38:00+00:00", 60.0, NaN], ' +
        '["2015-03-06T14:39:00+00:00", 60.0, -Infinity], ["2015-03-06T14:40:00+00:00", 60.0, 0.30000000000000004]]',
    );
    expect(measureRowsJson([{ points, granularity: 0.5 }]).toString('latin1')).toContain(
      '+00:00", 0.5, 23.1]',
    );
    expect(measureRowsJson([]).toString()).toBe('[]');
  });

  it('writes exactly what the per-value formatters write, on random values and times across days and several series', () => {
    const random = seeded(17);
    for (let round = 0; round < 50; round++) {
      const series = [3600, 'Y', 60, 1].map((granularity) => {
        const length = Math.floor(random() * 200);
        let t = Math.floor((random() - 0.3) * 4e9) * S + Math.floor(random() * S); // with microseconds
        const timestamps = new Float64Array(length);
        const values = new Float64Array(length);
        for (let i = 0; i < length; i++) {
          t += Math.floor(random() * 3 * 86_400 * S);
          timestamps[i] = t;
          values[i] = randomValue(random);
        }
        return { points: { timestamps, values }, granularity };
      });
      expect(measureRowsJson(series).toString('latin1')).toBe(slowMeasureRows(series));
    }
  });
});

describe('measureRowsJson with WrittenRows', () => {
  it('copies the rows a series shares with its last body and writes the same bytes as without', () => {
    const random = seeded(29);
    const written = new WrittenRows(64 * 1024 * 1024);
    let timestamps = Float64Array.from({ length: 500 }, (_, i) => (1_704_067_200 + i * 60) * S);
    let values = Float64Array.from({ length: 500 }, () => randomValue(random));
    for (let round = 0; round < 40; round++) {
      const series = [
        { points: { timestamps, values }, granularity: 60, reuseKey: 'metric-a mean' },
        {
          points: { timestamps: timestamps.slice(0, 7), values: values.slice(0, 7) },
          granularity: 3600,
          reuseKey: 'metric-a mean',
        },
      ];
      expect(measureRowsJson(series, written).toString('latin1'), `round ${round}`).toBe(
        measureRowsJson(series).toString('latin1'),
      );
      // What the next read sees: points dropped at the start, appended, or one changed (0 to -0 too).
      const drop = Math.floor(random() * 5);
      const add = Math.floor(random() * 5);
      const last = timestamps[timestamps.length - 1] as number;
      timestamps = Float64Array.from([
        ...timestamps.subarray(drop),
        ...Array.from({ length: add }, (_, i) => last + (i + 1) * 60 * S),
      ]);
      values = Float64Array.from([
        ...values.subarray(drop),
        ...Array.from({ length: add }, () => randomValue(random)),
      ]);
      const changed = Math.floor(random() * values.length);
      values[changed] = round % 3 === 0 ? (Object.is(values[changed], 0) ? -0 : 0) : randomValue(random);
    }
  });
});

describe('measureRowsJson of a series read again unchanged', () => {
  const year = (shift: number) => ({
    timestamps: Float64Array.from({ length: 1000 }, (_, i) => (1_704_067_200 + (i + shift) * 60) * S),
    values: Float64Array.from({ length: 1000 }, (_, i) => ((i + shift) % 1000) / 10),
  });

  it('answers the last body itself, without a copy, and still writes changed series right after', () => {
    const written = new WrittenRows(64 * 1024 * 1024);
    const rows = (points: Points) => [{ points, granularity: 60, reuseKey: 'metric-a mean' }];
    const first = measureRowsJson(rows(year(0)), written);
    const again = measureRowsJson(rows(year(0)), written);
    expect(again.toString('latin1')).toBe(first.toString('latin1'));
    expect(again.buffer).toBe(first.buffer); // the same memory: nothing formatted or copied
    const shifted = measureRowsJson(rows(year(1)), written);
    expect(shifted.buffer).not.toBe(first.buffer);
    expect(shifted.toString('latin1')).toBe(measureRowsJson(rows(year(1))).toString('latin1'));
    expect(first.toString('latin1')).toBe(measureRowsJson(rows(year(0))).toString('latin1')); // untouched
  });

  it('builds a new body when the series was part of a larger one, or is part of one now', () => {
    const written = new WrittenRows(64 * 1024 * 1024);
    const series = (granularity: number) => ({ points: year(0), granularity, reuseKey: 'metric-a mean' });
    for (const order of [
      [60, 3600],
      [3600, 60],
    ]) {
      const both = measureRowsJson(order.map(series), written);
      const alone = measureRowsJson([series(60)], written);
      expect(alone.buffer).not.toBe(both.buffer);
      expect(alone.toString('latin1')).toBe(measureRowsJson([series(60)]).toString('latin1'));
      const bothAgain = measureRowsJson(order.map(series), written);
      expect(bothAgain.toString('latin1')).toBe(both.toString('latin1'));
    }
  });
});

describe('measureRowsJson timestamps', () => {
  it('agree with Date for times across days, years and before 1970, truncating to the second', () => {
    const seconds = [0, 59, 86_399, 86_400, 951_782_400, 1_709_251_199, -1, -86_401, 4_102_444_800];
    const points = {
      timestamps: Float64Array.from(seconds, (s) => s * S + 999_999),
      values: new Float64Array(seconds.length),
    };
    expect(measureRowsJson([{ points, granularity: 1 }]).toString('latin1')).toBe(
      slowMeasureRows([{ points, granularity: 1 }]),
    );
  });
});

describe('output formats', () => {
  it('prints timedeltas as Python does', () => {
    expect(pythonTimedelta(1)).toBe('0:00:01');
    expect(pythonTimedelta(3600)).toBe('1:00:00');
    expect(pythonTimedelta(3.6)).toBe('0:00:03.600000');
    expect(pythonTimedelta(86400)).toBe('1 day, 0:00:00');
    expect(pythonTimedelta(365 * 86400 + 61)).toBe('365 days, 0:01:01');
  });

  it('prints timestamps as Python isoformat, and measures truncated to the second', () => {
    const micros = Date.UTC(2014, 0, 3, 2, 2, 2) * 1000;
    expect(isoFromMicros(micros)).toBe('2014-01-03T02:02:02+00:00');
    expect(isoFromMicros(micros + 5)).toBe('2014-01-03T02:02:02.000005+00:00');
  });
});
