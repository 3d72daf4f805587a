import { type Points, resample } from '@granary/carbonara';
import { describedAggregatesError, invalidOperations, unaggregatable } from './errors.ts';
import { type MetricReference, type Operation, type Reducer, referenceKey, referencesOf } from './parse.ts';

/**
 * How missing points are handled when series are aligned: a number or `null` (NaN) fills gaps,
 * `dropna` fills with NaN then drops non-finite points from the output, `ffill`/`bfill` carry the
 * previous/next value (`full_*` also fill the ends) and, as `dropna`, drop what is still not finite
 * from the output. Absent means: align only where series overlap.
 */
export type Fill = number | 'null' | 'dropna' | 'ffill' | 'bfill' | 'full_ffill' | 'full_bfill';

export const FILL_MODES: readonly string[] = ['null', 'dropna', 'ffill', 'bfill', 'full_ffill', 'full_bfill'];

/** The series of one granularity, keyed by `referenceKey` (epoch µs timestamps, sorted). */
export interface GranularityInput {
  granularitySeconds: number;
  series: ReadonlyMap<string, Points>;
}

export interface EvaluateOptions {
  fill?: Fill;
  /** Percent (0–100) of aligned timestamps where every series must have a point (no `fill`). */
  neededOverlap: number;
  /** Epoch µs; inclusive after rounding down to the granularity. */
  start?: number;
  /** Epoch µs; exclusive. */
  stop?: number;
}

/** One output series; `reference` is absent once series were aggregated into one. */
export interface OutputSeries {
  reference?: MetricReference;
  granularitySeconds: number;
  /** The stored granularity the series was read at, when a `resample` changed `granularitySeconds`. */
  sourceGranularitySeconds?: number;
  timestamps: Float64Array;
  values: Float64Array;
}

export interface EvaluationResult {
  /** True when the operations combined the series into one (`aggregate`, or two series combined). */
  aggregated: boolean;
  /** By granularity descending, then reference order. */
  series: OutputSeries[];
}

/** A value during evaluation: a number, or a grid of aligned series (one column per series). */
type Value =
  | { kind: 'scalar'; value: number }
  | {
      kind: 'grid';
      granularitySeconds: number;
      times: Float64Array;
      columns: Float64Array[];
      /** The reference of each column; null once aggregated. */
      references: MetricReference[] | null;
    };
type Grid = Extract<Value, { kind: 'grid' }>;

/** Gnocchi's `/v1/aggregates` processor: align the series of each granularity, then evaluate. */
export function evaluateOperations(
  operation: Operation,
  inputs: readonly GranularityInput[],
  options: EvaluateOptions,
): EvaluationResult {
  const ordered = [...inputs].sort((a, b) => b.granularitySeconds - a.granularitySeconds);
  const results = ordered.map((input) => {
    const grid = alignedGrid(operation, input, options);
    const value = evaluate(operation, grid, grid.references ?? []);
    if (value.kind === 'scalar') throw invalidOperations('Operations must reference at least one metric');
    return { ...value, sourceGranularitySeconds: input.granularitySeconds };
  });
  const aggregated = results.some((grid) => grid.references === null);
  // Gnocchi drops NaN and infinities from the output for every named fill mode except `null`.
  const dropna = typeof options.fill === 'string' && options.fill !== 'null';
  // Once aggregated, Gnocchi reports the first (normally the only) combined series.
  const series = results.flatMap((grid) =>
    aggregated
      ? grid.columns.slice(0, 1).map((values) => output(grid, values, undefined, dropna))
      : grid.columns.map((values, i) => output(grid, values, grid.references?.[i], dropna)),
  );
  return { aggregated, series };
}

function output(
  grid: Grid & { sourceGranularitySeconds: number },
  values: Float64Array,
  reference: MetricReference | undefined,
  dropna: boolean,
): OutputSeries {
  let { times } = grid;
  if (dropna) {
    const keep = [...values.keys()].filter((i) => Number.isFinite(values[i]));
    times = Float64Array.from(keep, (i) => grid.times[i]!);
    values = Float64Array.from(keep, (i) => values[i]!);
  }
  return {
    ...(reference ? { reference } : {}),
    granularitySeconds: grid.granularitySeconds,
    sourceGranularitySeconds: grid.sourceGranularitySeconds,
    timestamps: times,
    values,
  };
}

/** The references' series cut to [start, stop), on the union of their timestamps. */
function alignedGrid(operation: Operation, input: GranularityInput, options: EvaluateOptions): Grid {
  const references = referencesOf(operation);
  const g = input.granularitySeconds * 1e6;
  const from = options.start === undefined ? undefined : Math.floor(options.start / g) * g;
  const cut = references.map((ref) => {
    const points = input.series.get(referenceKey(ref)) ?? {
      timestamps: new Float64Array(),
      values: new Float64Array(),
    };
    const keep = [...points.timestamps.keys()].filter((i) => {
      const t = points.timestamps[i]!;
      return (from === undefined || t >= from) && (options.stop === undefined || t < options.stop);
    });
    return keep.map((i) => [points.timestamps[i]!, points.values[i]!] as const);
  });
  let times: Float64Array = Float64Array.from(
    new Set(cut.flatMap((points) => points.map(([t]) => t))),
  ).sort();
  const filler = typeof options.fill === 'number' ? options.fill : Number.NaN;
  let columns: Float64Array[] = cut.map((points) => {
    const column = new Float64Array(times.length).fill(filler);
    const index = new Map([...times].map((t, i) => [t, i]));
    for (const [t, v] of points) column[index.get(t)!] = v;
    return column;
  });
  if (options.fill === undefined) {
    const overlap = [...times.keys()].filter((row) => columns.every((column) => !Number.isNaN(column[row])));
    const keys = references.map((ref) => `${ref.metric}/${ref.aggregation}`);
    if (overlap.length === 0 && options.neededOverlap > 0) throw unaggregatable(keys, 'No overlap');
    if (times.length > 0 && overlap.length > 0) {
      const first = options.start === undefined ? overlap[0]! : 0;
      const last = options.stop === undefined ? overlap.at(-1)! : times.length - 1;
      times = times.slice(first, last + 1);
      columns = columns.map((column) => column.slice(first, last + 1));
    }
    const percent = times.length === 0 ? 100 : (overlap.length * 100) / times.length;
    if (percent < options.neededOverlap) {
      throw unaggregatable(
        keys,
        `Less than ${options.neededOverlap.toFixed(6)}% of datapoints overlap in this timespan (${percent.toFixed(2)}%)`,
      );
    }
  } else if (typeof options.fill === 'string' && options.fill.endsWith('fill')) {
    columns = columns.map((column) => carryValues(column, options.fill as string));
  }
  return { kind: 'grid', granularitySeconds: input.granularitySeconds, times, columns, references };
}

/** ffill/bfill carry the neighbour value into gaps; the `full_` variants then fill the other end. */
function carryValues(column: Float64Array, mode: string): Float64Array {
  const forward = (c: Float64Array) => {
    const out = Float64Array.from(c);
    for (let i = 1; i < out.length; i++) if (Number.isNaN(out[i])) out[i] = out[i - 1]!;
    return out;
  };
  const backward = (c: Float64Array) => forward(Float64Array.from(c).reverse()).reverse();
  if (mode === 'ffill') return forward(column);
  if (mode === 'bfill') return backward(column);
  if (mode === 'full_ffill') return backward(forward(column));
  return forward(backward(column));
}

/** Values a `rolling` may reduce in one request (window × output points × series): about 100 ms. */
export const MAX_ROLLING_COST = 2_000_000;

function evaluate(op: Operation, grid: Grid, all: readonly MetricReference[]): Value {
  switch (op.kind) {
    case 'number':
      return { kind: 'scalar', value: op.value };
    case 'metric': {
      const wanted = op.references.map(referenceKey);
      const indexes = wanted.map((key) => all.findIndex((ref) => referenceKey(ref) === key));
      return {
        ...grid,
        columns: indexes.map((i) => grid.columns[i]!),
        references: indexes.map((i) => all[i]!),
      };
    }
    case 'aggregate': {
      const sub = asGrid(evaluate(op.operand, grid, all), op.kind);
      const { reduce, rated } = reducerOf(op.method);
      const column = Float64Array.from(sub.times, (_, row) => reduce(sub.columns.map((c) => c[row]!)));
      const reduced: Grid = { ...sub, columns: [column], references: null };
      return rated ? differentiate(reduced, false) : reduced;
    }
    case 'resample': {
      const sub = asGrid(evaluate(op.operand, grid, all), op.kind);
      // Like Gnocchi, every column is resampled over the whole grid, its gaps (NaN) included: a
      // bucket holding a NaN is NaN for the NaN-propagating methods, and all columns share buckets.
      const sampled = sub.columns.map((values) =>
        resample({ timestamps: sub.times, values }, op.granularitySeconds * 1e6, op.method),
      );
      const times = sampled[0]?.timestamps ?? new Float64Array(0);
      const columns = sampled.map((points) => points.values);
      return { ...sub, granularitySeconds: op.granularitySeconds, times, columns };
    }
    case 'rolling': {
      const sub = asGrid(evaluate(op.operand, grid, all), op.kind);
      if (op.window > sub.times.length) {
        throw unaggregatable(
          referenceNames(all),
          `Rolling window '${op.window}' is greater than serie length '${sub.times.length}'`,
        );
      }
      const cost = (sub.times.length - op.window + 1) * op.window * sub.columns.length;
      if (cost > MAX_ROLLING_COST) {
        // Each output point reduces a whole window; Node has one thread for every request.
        throw describedAggregatesError('AGGREGATES_TOO_COSTLY', {
          cause: 'Operations too costly',
          reason: `Rolling window '${op.window}' over ${sub.times.length} points of ${sub.columns.length} series exceeds ${MAX_ROLLING_COST} values to reduce; narrow the window, the time range or the series`,
          detail: ['operations'],
        });
      }
      const { reduce, rated } = reducerOf(op.method);
      const columns = sub.columns.map((column) =>
        Float64Array.from({ length: column.length - op.window + 1 }, (_, i) =>
          reduce([...column.subarray(i, i + op.window)]),
        ),
      );
      const rolled: Grid = { ...sub, times: sub.times.slice(op.window - 1), columns };
      return rated ? differentiate(rolled, false) : rolled;
    }
    case 'rateofchange':
      return differentiate(asGrid(evaluate(op.operand, grid, all), op.kind), op.perSecond);
    case 'unary': {
      const f = UNARY[op.operator];
      return mapValue(evaluate(op.operand, grid, all), f);
    }
    case 'binary': {
      const f = BINARY[op.operator];
      return combine(evaluate(op.left, grid, all), evaluate(op.right, grid, all), f, all);
    }
    case 'clip': {
      const clipped = combine(
        evaluate(op.operand, grid, all),
        evaluate(op.min, grid, all),
        BINARY.clip_min,
        all,
      );
      return combine(clipped, evaluate(op.max, grid, all), BINARY.clip_max, all);
    }
  }
}

/**
 * Gnocchi's `rate:X` (rated_agg) reduces with X first, then takes consecutive differences of the
 * result: across series, `rate:max` is the change of the maximum, not the maximum of the changes.
 */
function reducerOf(method: string): { reduce: (values: number[]) => number; rated: boolean } {
  const rated = method.startsWith('rate:');
  return { reduce: REDUCE[(rated ? method.slice('rate:'.length) : method) as Reducer], rated };
}

function asGrid(value: Value, operation: string): Grid {
  if (value.kind === 'scalar') throw invalidOperations(`'${operation}' operation invalid`);
  return value;
}

/** Consecutive differences along time (optionally per second); timestamps lose the first one. */
function differentiate(grid: Grid, perSecond: boolean): Grid {
  const columns = grid.columns.map((column) =>
    Float64Array.from({ length: Math.max(0, column.length - 1) }, (_, i) => {
      const delta = column[i + 1]! - column[i]!;
      return perSecond ? delta / ((grid.times[i + 1]! - grid.times[i]!) / 1e6) : delta;
    }),
  );
  return { ...grid, times: grid.times.slice(1), columns };
}

function mapValue(value: Value, f: (x: number) => number): Value {
  if (value.kind === 'scalar') return { kind: 'scalar', value: f(value.value) };
  return { ...value, columns: value.columns.map((column) => column.map(f)) };
}

/**
 * Element-wise `f` with numpy broadcasting: a number applies to every point; two grids must share
 * timestamps and granularity and have equal column counts (or one column), and yield one combined
 * result (Gnocchi then reports it as aggregated).
 */
function combine(
  a: Value,
  b: Value,
  f: (x: number, y: number) => number,
  all: readonly MetricReference[],
): Value {
  if (a.kind === 'scalar' && b.kind === 'scalar') return { kind: 'scalar', value: f(a.value, b.value) };
  if (a.kind === 'scalar') return mapValue(b, (y) => f(a.value, y));
  if (b.kind === 'scalar') return mapValue(a, (x) => f(x, b.value));
  const sameTimes = a.times.length === b.times.length && a.times.every((t, i) => t === b.times[i]);
  const count = Math.max(a.columns.length, b.columns.length);
  const broadcastable = [a, b].every((g) => g.columns.length === count || g.columns.length === 1);
  if (!sameTimes || a.granularitySeconds !== b.granularitySeconds || !broadcastable) {
    throw unaggregatable(
      referenceNames(all),
      "Can't compute timeseries with different granularity or shapes",
    );
  }
  const pick = (g: Grid, i: number) => g.columns[g.columns.length === 1 ? 0 : i]!;
  const columns = Array.from({ length: count }, (_, i) => {
    const left = pick(a, i);
    const right = pick(b, i);
    return left.map((x, row) => f(x, right[row]!));
  });
  return { ...a, columns, references: null };
}

const referenceNames = (refs: readonly MetricReference[]) =>
  refs.map((ref) => `${ref.metric}/${ref.aggregation}`);

const finite = (values: number[]) => values.filter((v) => !Number.isNaN(v));
const mean = (values: number[]) => {
  const present = finite(values);
  return present.length === 0 ? Number.NaN : present.reduce((s, v) => s + v, 0) / present.length;
};
const variance = (values: number[]) => {
  const present = finite(values);
  const m = mean(present);
  return present.length === 0 ? Number.NaN : present.reduce((s, v) => s + (v - m) ** 2, 0) / present.length;
};

/** numpy's nan-aware reductions (`nanmean`, …; `std`/`var` with ddof 0, an empty `sum` is 0). */
const REDUCE: Record<Reducer, (values: number[]) => number> = {
  mean,
  median: (values) => {
    const sorted = finite(values).sort((x, y) => x - y);
    if (sorted.length === 0) return Number.NaN;
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  },
  std: (values) => Math.sqrt(variance(values)),
  var: variance,
  min: (values) => (finite(values).length ? Math.min(...finite(values)) : Number.NaN),
  max: (values) => (finite(values).length ? Math.max(...finite(values)) : Number.NaN),
  sum: (values) => finite(values).reduce((s, v) => s + v, 0),
  count: (values) => finite(values).length,
};

const UNARY: Record<Extract<Operation, { kind: 'unary' }>['operator'], (x: number) => number> = {
  abs: Math.abs,
  neg: (x) => -x,
  cos: Math.cos,
  sin: Math.sin,
  tan: Math.tan,
  floor: Math.floor,
  ceil: Math.ceil,
};

/** Comparisons give 1/0 (numpy booleans, as numbers in JSON). */
const BINARY: Record<Extract<Operation, { kind: 'binary' }>['operator'], (x: number, y: number) => number> = {
  eq: (x, y) => Number(x === y),
  ne: (x, y) => Number(x !== y),
  lt: (x, y) => Number(x < y),
  le: (x, y) => Number(x <= y),
  gt: (x, y) => Number(x > y),
  ge: (x, y) => Number(x >= y),
  // numpy's mod (npy_divmod): fmod, moved by the divisor when their signs differ; exact, unlike
  // ((x % y) + y) % y, whose extra rounding turns mod(43.1, 45.3) into 43.10000000000001.
  mod: (x, y) => {
    const remainder = x % y;
    if (remainder === 0) return y < 0 ? -0 : 0;
    return y < 0 !== remainder < 0 ? remainder + y : remainder;
  },
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  pow: (x, y) => x ** y,
  clip_min: (x, y) => (Number.isNaN(x) ? x : Math.max(x, y)),
  // numpy.fmax: a NaN loses to a number.
  fmax: (x, y) => (Number.isNaN(x) ? y : Number.isNaN(y) ? x : Math.max(x, y)),
  clip_max: (x, y) => (Number.isNaN(x) ? x : Math.min(x, y)),
};
