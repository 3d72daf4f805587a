import { describe, expect, it } from 'vitest';
import {
  type EvaluateOptions,
  type EvaluationResult,
  type GranularityInput,
  aggregatesError,
  evaluateOperations,
  expandReferences,
  parseOperations,
  referenceKey,
} from '../index.ts';

// The measures of aggregates-with-metric-ids.yaml, as the archive policy `cookies` (1 s and 60 s, mean) stores them.
type Rows = [string, number][];
const M1: Record<number, Rows> = {
  60: [
    ['14:33:00', 43.1],
    ['14:34:00', -2],
    ['14:35:00', 10],
  ],
  1: [
    ['14:33:57', 43.1],
    ['14:34:12', 12],
    ['14:34:15', -16],
    ['14:35:12', 9],
    ['14:35:15', 11],
  ],
};
const M2: Record<number, Rows> = {
  60: [
    ['14:33:00', 2],
    ['14:34:00', 4.5],
    ['14:35:00', 12.5],
  ],
  1: [
    ['14:33:57', 2],
    ['14:34:12', 4],
    ['14:34:15', 5],
    ['14:35:12', 10],
    ['14:35:15', 15],
  ],
};
const M1_LATER: Record<number, Rows> = {
  60: [...M1[60]!, ['14:37:00', 15], ['14:38:00', 15]],
  1: [...M1[1]!, ['14:37:00', 15], ['14:38:00', 15]],
};
const M4: Record<number, [string, number][]> = {
  60: [
    ['2017-04-06T14:33:00', 20],
    ['2017-04-06T14:34:00', 10],
  ],
  1: [
    ['2017-04-06T14:33:57', 20],
    ['2017-04-06T14:34:12', 10],
  ],
};

const micros = (time: string) => Date.parse(`${time.includes('T') ? time : `2015-03-06T${time}`}Z`) * 1000;
const iso = (us: number) => `${new Date(us / 1000).toISOString().slice(0, 19)}+00:00`;

function inputs(series: Record<string, Record<number, Rows>>, granularities = [60, 1]): GranularityInput[] {
  return granularities.map((g) => ({
    granularitySeconds: g,
    series: new Map(
      Object.entries(series).map(([metric, byGranularity]) => [
        referenceKey({ metric, aggregation: 'mean' }),
        {
          timestamps: Float64Array.from(byGranularity[g]!, ([t]) => micros(t)),
          values: Float64Array.from(byGranularity[g]!, ([, v]) => v),
        },
      ]),
    ),
  }));
}

/** Gnocchi's JSON: per reference (or `aggregated`), `[timestamp, granularity, value]` rows. */
function measures(result: EvaluationResult): Record<string, [string, number, number][]> {
  const out: Record<string, [string, number, number][]> = {};
  for (const s of result.series) {
    const key = s.reference ? s.reference.metric : 'aggregated';
    out[key] ??= [];
    s.timestamps.forEach((t, i) => out[key]!.push([iso(t), s.granularitySeconds, s.values[i]!]));
  }
  return out;
}

const run = (
  operations: unknown,
  series: Record<string, Record<number, Rows>>,
  options: Partial<EvaluateOptions> = {},
  granularities?: number[],
) =>
  measures(
    evaluateOperations(parseOperations(operations), inputs(series, granularities), {
      fill: 'dropna',
      neededOverlap: 100,
      ...options,
    }),
  );

const rows = (g: number, data: [string, number][]) =>
  data.map(([t, v]) => [`${t.includes('T') ? t : `2015-03-06T${t}`}+00:00`, g, v]);

describe('metric references', () => {
  it('returns each series by granularity, coarsest first', () => {
    const out = run(['metric', ['m1', 'mean'], ['m2', 'mean']], { m1: M1, m2: M2 });
    expect(out.m1).toEqual([...rows(60, M1[60]!), ...rows(1, M1[1]!)]);
    expect(out.m2).toEqual([...rows(60, M2[60]!), ...rows(1, M2[1]!)]);
  });

  it('cuts to [start rounded down to the granularity, stop)', () => {
    const out = run(
      '(metric (m1 mean) (m2 mean))',
      { m1: M1, m2: M2 },
      {
        start: micros('14:34:00'),
        stop: micros('14:35:13'),
      },
    );
    expect(out.m1).toEqual([
      ...rows(60, [
        ['14:34:00', -2],
        ['14:35:00', 10],
      ]),
      ...rows(1, [
        ['14:34:12', 12],
        ['14:34:15', -16],
        ['14:35:12', 9],
      ]),
    ]);
  });
});

describe('expanding name patterns into the metrics they match', () => {
  const byPattern: Record<string, string[]> = { 'cpu.*': ['m1', 'm2'], 'disk.io': ['m2'], nothing: [] };
  const expand = (operations: unknown) =>
    expandReferences(parseOperations(operations), (ref) =>
      byPattern[ref.metric]!.map((metric) => ({ metric, aggregation: ref.aggregation })),
    );

  it('replaces every reference, keeping the tree and the aggregation method', () => {
    expect(expand('(aggregate sum (metric (cpu.* mean) (disk.io max)))')).toEqual({
      kind: 'aggregate',
      method: 'sum',
      operand: {
        kind: 'metric',
        references: [
          { metric: 'm1', aggregation: 'mean' },
          { metric: 'm2', aggregation: 'mean' },
          { metric: 'm2', aggregation: 'max' },
        ],
      },
    });
  });

  it('expands both sides of a binary operation, and leaves a pattern matching nothing empty', () => {
    expect(expand('(- (metric cpu.* mean) (metric nothing mean))')).toEqual({
      kind: 'binary',
      operator: 'sub',
      left: {
        kind: 'metric',
        references: [
          { metric: 'm1', aggregation: 'mean' },
          { metric: 'm2', aggregation: 'mean' },
        ],
      },
      right: { kind: 'metric', references: [] },
    });
  });

  it('evaluates the expanded operations like references by id', () => {
    const out = measures(
      evaluateOperations(expand('(aggregate mean (metric cpu.* mean))'), inputs({ m1: M1, m2: M2 }), {
        fill: 'dropna',
        neededOverlap: 100,
      }),
    );
    expect(out.aggregated!.slice(0, 3)).toEqual(
      rows(60, [
        ['14:33:00', 22.55],
        ['14:34:00', 1.25],
        ['14:35:00', 11.25],
      ]),
    );
  });
});

describe('operations (expected values from aggregates-with-metric-ids.yaml)', () => {
  it('adds a number to every series, keeping them apart', () => {
    const out = run(['+', ['metric', ['m1', 'mean'], ['m2', 'mean']], 2.0], { m1: M1, m2: M2 });
    expect(out.m1!.map(([, , v]) => v)).toEqual([45.1, 0, 12, 45.1, 14, -14, 11, 13]);
    expect(out.m2!.map(([, , v]) => v)).toEqual([4, 6.5, 14.5, 4, 6, 7, 12, 17]);
  });

  it('resamples to a coarser granularity', () => {
    const out = run(
      ['resample', 'mean', 60, ['metric', ['m1', 'mean'], ['m2', 'mean']]],
      { m1: M1, m2: M2 },
      {},
      [1],
    );
    expect(out.m1).toEqual(rows(60, M1[60]!));
    expect(out.m2).toEqual(rows(60, M2[60]!));
  });

  // Answers of Gnocchi 4.7.1 for the same two series (m2 has gaps at :01 and :04), 3 s buckets.
  it('resamples gaps as NaN, as Gnocchi: sum/max/rate: of a bucket with a gap are NaN, min/median/count skip or count it', () => {
    // One value a second from 00:00:00, null where the series has no point.
    const everySecond = (values: (number | null)[]): Record<number, Rows> => ({
      1: values.flatMap((v, s) => (v === null ? [] : [[`00:00:0${s}`, v] as [string, number]])),
    });
    const series = {
      m1: everySecond([1, 2, 4, 8, 16, 32]),
      m2: everySecond([10, null, 30, 40, null, 60]),
    };
    const resampled = (method: string, fill: EvaluateOptions['fill']) => {
      const out = run(
        ['resample', method, 3, ['metric', ['m1', 'mean'], ['m2', 'mean']]],
        series,
        { fill, neededOverlap: 0 },
        [1],
      );
      return { m1: out.m1?.map(([, , v]) => v), m2: out.m2?.map(([, , v]) => v) };
    };
    expect(resampled('sum', 'null')).toEqual({ m1: [7, 56], m2: [Number.NaN, Number.NaN] });
    expect(resampled('sum', 'dropna')).toEqual({ m1: [7, 56], m2: [] });
    expect(resampled('sum', 0)).toEqual({ m1: [7, 56], m2: [40, 100] });
    expect(resampled('sum', undefined)).toEqual({ m1: [7, 56], m2: [Number.NaN, Number.NaN] });
    expect(resampled('max', 'null').m2).toEqual([Number.NaN, Number.NaN]);
    expect(resampled('min', 'null').m2).toEqual([10, 40]);
    expect(resampled('count', 'null').m2).toEqual([3, 3]);
    expect(resampled('median', 'null').m2).toEqual([30, 60]);
    expect(resampled('rate:sum', 'null')).toEqual({ m1: [3, 28], m2: [Number.NaN, Number.NaN] });
    expect(resampled('rate:sum', 0).m2).toEqual([20, 30]);
  });

  it('refuses a rolling whose window × points exceeds the cost limit, with a coded 400', () => {
    const start = Date.parse('2015-03-06T00:00:00Z') / 1000;
    const long: Rows = Array.from({ length: 20_000 }, (_, i) => [
      new Date((start + i) * 1000).toISOString().slice(0, 19),
      i,
    ]);
    let refusal: unknown;
    try {
      run(['rolling', 'mean', 10_000, ['metric', 'm1', 'mean']], { m1: { 1: long } }, {}, [1]);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toMatchObject({ code: 'AGGREGATES_TOO_COSTLY', status: 400 });
    expect(
      run(['rolling', 'mean', 2, ['metric', 'm1', 'mean']], { m1: { 1: long } }, {}, [1]).m1,
    ).toHaveLength(19_999);
  });

  it('computes rolling means', () => {
    const out = run(
      ['rolling', 'mean', 2, ['metric', ['m1', 'mean'], ['m2', 'mean']]],
      { m1: M1, m2: M2 },
      {},
      [1],
    );
    expect(out.m1).toEqual(
      rows(1, [
        ['14:34:12', 27.55],
        ['14:34:15', -2],
        ['14:35:12', -3.5],
        ['14:35:15', 10],
      ]),
    );
    expect(out.m2).toEqual(
      rows(1, [
        ['14:34:12', 3],
        ['14:34:15', 4.5],
        ['14:35:12', 7.5],
        ['14:35:15', 12.5],
      ]),
    );
  });

  it('aggregates across series, also on rates', () => {
    const mean = run(['aggregate', 'mean', ['metric', ['m1', 'mean'], ['m2', 'mean']]], { m1: M1, m2: M2 });
    expect(mean.aggregated!.map(([, g, v]) => [g, v])).toEqual([
      [60, 22.55],
      [60, 1.25],
      [60, 11.25],
      [1, 22.55],
      [1, 8],
      [1, -5.5],
      [1, 9.5],
      [1, 13],
    ]);
    const rate = run(['aggregate', 'rate:mean', ['metric', ['m1', 'mean'], ['m2', 'mean']]], {
      m1: M1,
      m2: M2,
    });
    expect(rate.aggregated!.map(([t, g, v]) => [t.slice(11, 19), g, v])).toEqual([
      ['14:34:00', 60, -21.3],
      ['14:35:00', 60, 10],
      ['14:34:12', 1, -14.55],
      ['14:34:15', 1, -13.5],
      ['14:35:12', 1, 15],
      ['14:35:15', 1, 3.5],
    ]);
  });

  it("reduces before differentiating in rate: methods, rolls them, and takes the binary max as numpy's fmax", () => {
    // Gnocchi's rated_agg: numpy.diff(numpy.nanmax(values, axis=1)) — the change of the maximum.
    const across = run(
      ['aggregate', 'rate:max', ['metric', ['m1', 'mean'], ['m2', 'mean']]],
      { m1: M1, m2: M2 },
      {},
      [60],
    );
    expect(across.aggregated!.map(([t, , v]) => [t.slice(11, 19), v])).toEqual([
      ['14:34:00', 4.5 - 43.1],
      ['14:35:00', 12.5 - 4.5],
    ]);
    // rolling max over 2 points of m1 (60 s): 43.1, 10; its rate: one difference.
    const rolled = run(['rolling', 'rate:max', 2, ['metric', 'm1', 'mean']], { m1: M1 }, {}, [60]);
    expect(rolled.m1!.map(([t, , v]) => [t.slice(11, 19), v])).toEqual([['14:35:00', 10 - 43.1]]);
    // numpy.mod: the divisor's sign, and no extra rounding (43.1 mod 45.3 is 43.1, not 43.10000000000001).
    const modulo = (divisor: number) =>
      run(['mod', ['metric', 'm1', 'mean'], divisor], { m1: M1 }, {}, [60]).m1!.map(([, , v]) => v);
    expect(modulo(45.3)).toEqual([43.1, 43.3, 10]);
    expect(modulo(-4)).toEqual([-0.8999999999999986, -2, -2]);
    // The resample period as Gnocchi's to_timespan reads it: seconds or unit text.
    const resampled = (period: unknown) =>
      run(['resample', 'sum', period, ['metric', 'm1', 'mean']], { m1: M1 }, {}, [60]);
    expect(resampled('120s')).toEqual(resampled(120));
    expect(resampled('2 minutes')).toEqual(resampled('120'));
    expect(resampled(120).m1!.map(([, g, v]) => [g, v])).toEqual([
      [120, 43.1],
      [120, 8],
    ]);
    expect(() => resampled('2 fortnights')).toThrow("'resample' operation invalid");
    // Resampled, each stored granularity still gives its own series (Gnocchi lists them all).
    const both = evaluateOperations(
      parseOperations(['resample', 'sum', 120, ['metric', 'm1', 'mean']]),
      inputs({ m1: M1 }),
      {
        fill: 'dropna',
        neededOverlap: 100,
      },
    );
    expect(both.series.map((x) => [x.granularitySeconds, x.sourceGranularitySeconds])).toEqual([
      [120, 60],
      [120, 1],
    ]);
    const larger = run(['max', ['metric', 'm1', 'mean'], 5], { m1: M1 }, {}, [60]);
    expect(larger.m1!.map(([, , v]) => v)).toEqual([43.1, 5, 10]);
  });

  it('computes the rate of change of one series', () => {
    const out = run('(rateofchange (metric m1 mean))', { m1: M1 });
    expect(out.m1!.map(([, g, v]) => [g, v])).toEqual([
      [60, -45.1],
      [60, 12],
      [1, -31.1],
      [1, -28],
      [1, 25],
      [1, 2],
    ]);
  });

  it('subtracting two series yields one aggregated series', () => {
    const out = run('(- (metric m1 mean) (metric m2 mean)))', { m1: M1, m2: M2 });
    expect(Object.keys(out)).toEqual(['aggregated']);
    expect(out.aggregated!.map(([, , v]) => v)).toEqual([41.1, -6.5, -2.5, 41.1, 8, -21, -1, -4]);
  });

  it('applies unary operations', () => {
    const out = run('(negative (absolute (aggregate mean (metric (m1 mean) (m2 mean)))))', {
      m1: M1,
      m2: M2,
    });
    expect(out.aggregated!.map(([, , v]) => v)).toEqual([-22.55, -1.25, -11.25, -22.55, -8, -5.5, -9.5, -13]);
  });
});

describe('alignment and fill', () => {
  it('fills gaps with a number', () => {
    const out = run('(metric (m1 mean) (m2 mean))', { m1: M1_LATER, m2: M2 }, { fill: 123 });
    expect(out.m2).toEqual([
      ...rows(60, [...M2[60]!, ['14:37:00', 123], ['14:38:00', 123]]),
      ...rows(1, [...M2[1]!, ['14:37:00', 123], ['14:38:00', 123]]),
    ]);
  });

  it('keeps disjoint series apart with dropna, and shows the gaps as NaN with null', () => {
    const dropped = run('(metric (m1 mean) (m4 mean))', { m1: M1_LATER, m4: M4 });
    expect(dropped.m4).toEqual([...rows(60, M4[60]!), ...rows(1, M4[1]!)]);
    const nulls = run('(metric (m1 mean) (m4 mean))', { m1: M1_LATER, m4: M4 }, { fill: 'null' });
    expect(nulls.m4!.filter(([, , v]) => Number.isNaN(v))).toHaveLength(5 + 7);
    expect(nulls.m1!.filter(([, , v]) => Number.isNaN(v))).toHaveLength(2 + 2);
  });

  it('without fill, refuses series that do not overlap enough, and trims to the overlap', () => {
    const options = { fill: undefined, neededOverlap: 100 };
    expect(() => run('(metric (m1 mean) (m4 mean))', { m1: M1, m4: M4 }, options)).toThrow('No overlap');
    expect(() =>
      run('(metric (m1 mean) (m2 mean))', { m1: M1_LATER, m2: M2 }, { fill: undefined, neededOverlap: 100 }),
    ).not.toThrow();
    const partial = run(
      '(metric (m1 mean) (m2 mean))',
      { m1: M1_LATER, m2: M2 },
      { fill: undefined, neededOverlap: 0, stop: micros('14:40:00') },
    );
    expect(partial.m2!.filter(([, g]) => g === 60)).toHaveLength(5);
    expect(() =>
      run(
        '(metric (m1 mean) (m2 mean))',
        { m1: M1_LATER, m2: M2 },
        { fill: undefined, neededOverlap: 80, stop: micros('14:40:00') },
      ),
    ).toThrow('Less than 80.000000% of datapoints overlap in this timespan (60.00%)');
  });

  it('carries values forward and backward', () => {
    const out = run('(metric (m1 mean) (m2 mean))', { m1: M1_LATER, m2: M2 }, { fill: 'ffill' }, [60]);
    expect(out.m2!.slice(-2).map(([, , v]) => v)).toEqual([12.5, 12.5]);
  });

  // aggregation.yaml's "difference with fill": what no neighbour could fill is left out, as with dropna.
  it('leaves out of the output what ffill/bfill could not fill, and keeps NaN with null', () => {
    const difference = '(aggregate mean (- (metric m1 mean) (metric m2 mean)))';
    const later = { m1: M1_LATER, m2: M2 };
    const forward = run(difference, later, { fill: 'bfill' }, [60]);
    // M2 ends at 14:35, so nothing fills it backward at 14:37 and 14:38.
    expect(forward.aggregated!.map(([t]) => t.slice(11, 16))).toEqual(['14:33', '14:34', '14:35']);
    expect(run(difference, later, { fill: 'ffill' }, [60]).aggregated!.at(-1)).toEqual([
      '2015-03-06T14:38:00+00:00',
      60,
      15 - 12.5,
    ]);
    const empty = { m1: M1, m2: { 60: [] } };
    for (const fill of ['ffill', 'bfill', 'full_ffill', 'full_bfill'] as const) {
      expect(run(difference, empty, { fill }, [60]).aggregated ?? []).toEqual([]);
    }
    expect(run(difference, empty, { fill: 'null' }, [60]).aggregated!.map(([, , v]) => v)).toEqual([
      Number.NaN,
      Number.NaN,
      Number.NaN,
    ]);
  });
});

describe('parse errors with Gnocchi descriptions', () => {
  const description = (operations: unknown) => {
    try {
      parseOperations(operations);
    } catch (err) {
      expect(aggregatesError.is(err)).toBe(true);
      return (err as { details: { description: unknown } }).details.description;
    }
    throw new Error('parsed');
  };

  it.each([
    [[], /^Operation must not be empty for dictionary value @ data\['operations'\]/],
    [{ foo: 'bar' }, /^Expected a tuple\/list, got a/],
    [['metric'], /^Operation need at least one argument for dictionary value/],
    ['(rolling blah 2 (metric m1 mean))', /^'rolling' operation invalid for dictionary value/],
    ['(rolling mean (metric m1 mean))', /^'rolling' operation invalid/],
    ['(notexist (absolute (metric m1 mean)))', /^'notexist' operation invalid/],
    ['(resample mean invalid (metric (m1 mean) (m2 mean)))', /^'resample' operation invalid/],
  ])('%j', (operations, reason) => {
    expect(description(operations)).toMatchObject({
      cause: 'Invalid input',
      reason: expect.stringMatching(reason),
      detail: ['operations'],
    });
  });

  it('reports a string it cannot parse', () => {
    expect(description('(metroc foo bar')).toMatchObject({
      cause: 'Invalid operations',
      reason: 'Fail to parse the operations string',
    });
  });
});
