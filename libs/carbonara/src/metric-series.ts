import { type Grouping, derivedValues, groupByBucket, reduceGroups } from './aggregate.ts';
import { ColumnSet } from './columns.ts';
import { carbonaraErrors } from './errors.ts';
import { type ParsedMethod, parseMethod } from './methods.ts';
import { type Points, PointsBuffer, lowerBound, normalizeBatch } from './points.ts';
import type { Aggregation, ArchivePolicy } from './policy.ts';
import { floorTimestamp, splitKeyOf } from './time.ts';

const bucketBuffer = new PointsBuffer();
const batchBuffer = new PointsBuffer();

/** Column of the raw tail in a metric's ColumnSet; aggregation k (policy order) is column k + 1. */
const RAW = 0;

interface GranularityLayout {
  readonly granularity: number;
  /** Columns of this granularity's plain and `rate:` methods. */
  readonly plain: readonly number[];
  readonly rate: readonly number[];
}

/** What every metric of one policy shares: where each aggregation lives and how it reduces. */
interface PolicyLayout {
  readonly methods: readonly ParsedMethod[];
  readonly granularities: readonly GranularityLayout[];
  /** By granularity, then method: the column. */
  readonly columns: ReadonlyMap<number, ReadonlyMap<string, number>>;
  /** Blocks of `maxBlockSize` kept before the last one; rate methods need one more for their first delta. */
  readonly rawBackWindow: number;
}

const layouts = new WeakMap<ArchivePolicy, PolicyLayout>();

function layoutOf(policy: ArchivePolicy): PolicyLayout {
  let layout = layouts.get(policy);
  if (layout) return layout;
  const methods = policy.aggregations.map((aggregation) => parseMethod(aggregation.method));
  const columns = new Map<number, Map<string, number>>();
  policy.aggregations.forEach(({ method, granularity }, index) => {
    const byMethod = columns.get(granularity) ?? new Map<string, number>();
    columns.set(granularity, byMethod.set(method, index + 1));
  });
  const ofGranularity = (granularity: number, rate: boolean) =>
    policy.aggregations.flatMap((aggregation, index) =>
      aggregation.granularity === granularity && (methods[index] as ParsedMethod).rate === rate
        ? [index + 1]
        : [],
    );
  layout = {
    methods,
    granularities: policy.definition.map(({ granularity }) => ({
      granularity,
      plain: ofGranularity(granularity, false),
      rate: ofGranularity(granularity, true),
    })),
    columns,
    rawBackWindow: policy.backWindow + (methods.some((method) => method.rate) ? 1 : 0),
  };
  layouts.set(policy, layout);
  return layout;
}

/** What one `apply` changed in one aggregation. */
export interface AggregationChange {
  readonly aggregation: Aggregation;
  /** The recomputed buckets (still within retention) lie in [from, to), µs. */
  readonly from: number;
  readonly to: number;
  /** Keys of the splits holding recomputed buckets, ascending. */
  readonly splitKeys: readonly number[];
  /** Oldest bucket kept after retention; splits keyed before `splitKeyOf(oldestKept)` hold only expired buckets. */
  readonly oldestKept: number;
}

export interface ApplyResult {
  /** Distinct new points merged into the raw tail. */
  readonly accepted: number;
  /** Points older than the raw tail's first block (back window): not applied. */
  readonly droppedTooOld: number;
  /**
   * One entry per aggregation whose buckets were recomputed, in policy order (definition order,
   * then method order, where every plain method precedes every `rate:` one).
   */
  readonly changes: readonly AggregationChange[];
}

/** State to resume from: a decoded raw tail and stored aggregate points. */
export interface MetricSnapshot {
  readonly rawTail?: Points | undefined;
  readonly aggregates?: Iterable<{
    readonly method: string;
    readonly granularity: number;
    readonly points: Points;
  }>;
}

/**
 * One metric under an archive policy: the raw tail (Gnocchi's BoundTimeSerie) and every
 * aggregated series, updated in place by batches of measures. Semantics are Gnocchi's: new
 * points win; points older than the tail's first block are dropped; only buckets from the first
 * new point's bucket onward are recomputed, then merged over the stored ones; retention is
 * relative to each series' last bucket.
 */
export class MetricSeries {
  readonly policy: ArchivePolicy;
  private readonly layout: PolicyLayout;
  /** The raw tail (column RAW) and every aggregation, in one store. */
  private columns: ColumnSet;

  constructor(policy: ArchivePolicy, snapshot: MetricSnapshot = {}) {
    this.policy = policy;
    this.layout = layoutOf(policy);
    this.columns = new ColumnSet();
    if (snapshot.rawTail) {
      assertIncreasing(snapshot.rawTail, 'raw tail');
      this.columns.merge(RAW, snapshot.rawTail, 0, snapshot.rawTail.timestamps.length);
      // A policy whose back window shrank keeps fewer blocks (Gnocchi's janitor re-truncation).
      if (this.columns.length(RAW) > 0) {
        this.columns.dropBefore(RAW, this.columns.lowerBound(RAW, this.firstBlockStart(policy.maxBlockSize)));
      }
    }
    for (const { method, granularity, points } of snapshot.aggregates ?? []) {
      const column = this.columnOf(method, granularity);
      assertIncreasing(points, `${method} at ${granularity}`);
      this.columns.merge(column, points, 0, points.timestamps.length);
      this.applyRetention(column);
    }
  }

  /** Applies one batch of measures (any order; of duplicate timestamps the smallest value stays). */
  apply(timestamps: ArrayLike<number>, values: ArrayLike<number>): ApplyResult {
    const length = normalizeBatch(timestamps, values, batchBuffer);
    const { columns } = this;
    const blockSize = this.policy.maxBlockSize;
    const droppedTooOld =
      columns.length(RAW) === 0
        ? 0
        : lowerBound(batchBuffer.timestamps, this.firstBlockStart(blockSize), 0, length);
    const accepted = length - droppedTooOld;
    if (accepted === 0) return { accepted, droppedTooOld, changes: [] };
    // Gnocchi recomputes from max(first raw point, oldest measure of the batch), counting the
    // oldest even when it was too old to keep: then the whole raw tail is recomputed, and a rate's
    // first new delta takes the point before it however far back (storage/__init__.py `tstamp`).
    const oldestAccepted = batchBuffer.timestamps[droppedTooOld] as number;
    const firstNew = droppedTooOld > 0 ? Math.min(columns.timeAt(RAW, 0), oldestAccepted) : oldestAccepted;
    this.reserve(firstNew, accepted, batchBuffer.timestamps[length - 1] as number);
    columns.merge(RAW, batchBuffer, droppedTooOld, length);
    const raw = columns.view(RAW);
    const changes: AggregationChange[] = [];
    for (const { granularity, plain, rate } of this.layout.granularities) {
      const bucketStart = floorTimestamp(firstNew, granularity);
      const first = lowerBound(raw.timestamps, bucketStart);
      if (plain.length > 0) {
        const grouping = groupByBucket(raw.timestamps.subarray(first), granularity);
        const values = raw.values.subarray(first);
        for (const column of plain) this.recompute(column, values, grouping, changes);
      }
      if (rate.length > 0) {
        // Gnocchi seeds the first delta with one prior point, if there is one within a granularity.
        const seed = lowerBound(raw.timestamps, bucketStart - granularity);
        const firstDerived = Math.max(seed + 1, first);
        const grouping = groupByBucket(raw.timestamps.subarray(firstDerived), granularity);
        const deltas = derivedValues(raw.values, firstDerived, raw.values.length);
        for (const column of rate) this.recompute(column, deltas, grouping, changes);
      }
    }
    columns.dropBefore(RAW, columns.lowerBound(RAW, this.firstBlockStart(blockSize)));
    return { accepted, droppedTooOld, changes };
  }

  /**
   * Hands over every aggregated bucket and the raw tail as they are, and keeps the raw tail alone,
   * in a store of its own size. For a caller that stores what it took (a checkpoint): what later
   * applies recompute is merged over it downstream (new wins), so afterwards `points` holds only
   * the buckets recomputed since, and memory between checkpoints is the raw tail. What was taken
   * never changes. Changes reported after it carry an `oldestKept` among the buckets held since.
   */
  takeBuckets(): TakenSeries {
    const taken = new TakenSeries(this.policy, this.columns);
    this.columns = this.columns.repacked(RAW + 1);
    return taken;
  }

  /**
   * The raw tail, for `encodeRawTail`. Like `points`, it returns views of live state: use or copy
   * them before the next `apply`.
   */
  rawTail(): Points {
    return this.columns.view(RAW);
  }

  /**
   * One aggregation's points in [from, to), `from` floored to the granularity (Gnocchi's
   * `fetch`). The arrays are views of live state, valid until the next `apply`. Throws
   * CARBONARA_INVALID_ARGUMENT if the policy has no such aggregation.
   */
  points(method: string, granularity: number, from?: number, to?: number): Points {
    const column = this.columnOf(method, granularity);
    const { columns } = this;
    const first = from === undefined ? 0 : columns.lowerBound(column, floorTimestamp(from, granularity));
    const end = to === undefined ? columns.length(column) : Math.max(first, columns.lowerBound(column, to));
    return columns.view(column, first, end);
  }

  private columnOf(method: string, granularity: number): number {
    const column = this.layout.columns.get(granularity)?.get(method);
    if (column === undefined) {
      throw carbonaraErrors(
        'CARBONARA_INVALID_ARGUMENT',
        `policy ${this.policy.name} has no ${method} aggregation at granularity ${granularity}`,
      );
    }
    return column;
  }

  /** Gnocchi's `first_block_timestamp`: the start of the oldest raw block kept. */
  private firstBlockStart(blockSize: number): number {
    const last = this.columns.lastTime(RAW) as number;
    return floorTimestamp(last, blockSize) - blockSize * this.layout.rawBackWindow;
  }

  /**
   * Room, in one allocation at most, for `accepted` raw points and the buckets recomputed from
   * `firstNew` on: per granularity, no more than the raw points from its bucket on nor than the
   * buckets up to the last point.
   */
  private reserve(firstNew: number, accepted: number, lastAccepted: number): void {
    const { columns } = this;
    const length = columns.length(RAW);
    const last = Math.max(columns.lastTime(RAW) ?? lastAccepted, lastAccepted);
    const room = new Array<number>(this.policy.aggregations.length + 1).fill(0);
    room[RAW] = accepted;
    for (const { granularity, plain, rate } of this.layout.granularities) {
      const bucketStart = floorTimestamp(firstNew, granularity);
      const points = length - columns.lowerBound(RAW, bucketStart) + accepted;
      const buckets = Math.min(points, Math.floor((last - bucketStart) / granularity) + 1);
      for (const column of plain) room[column] = buckets;
      for (const column of rate) room[column] = buckets;
    }
    columns.reserve(room);
  }

  private recompute(
    column: number,
    values: Float64Array,
    grouping: Grouping,
    changes: AggregationChange[],
  ): void {
    const out = bucketBuffer.reserve(grouping.count);
    const method = this.layout.methods[column - 1] as ParsedMethod;
    const count = reduceGroups(values, grouping, method, out.timestamps, out.values);
    if (count === 0) return;
    const { columns } = this;
    columns.merge(column, out, 0, count);
    this.applyRetention(column);
    const oldestKept = columns.timeAt(column, 0) as number;
    const lastComputed = out.timestamps[count - 1] as number;
    if (lastComputed < oldestKept) return;
    const aggregation = this.policy.aggregations[column - 1] as Aggregation;
    const granularity = aggregation.granularity;
    const firstKept = lowerBound(out.timestamps, oldestKept, 0, count);
    const splitKeys: number[] = [];
    for (let index = firstKept; index < count; index++) {
      const key = splitKeyOf(out.timestamps[index] as number, granularity);
      if (splitKeys[splitKeys.length - 1] !== key) splitKeys.push(key);
    }
    changes.push({
      aggregation,
      from: out.timestamps[firstKept] as number,
      to: lastComputed + granularity,
      splitKeys,
      oldestKept,
    });
  }

  private applyRetention(column: number): void {
    const { timespan } = this.policy.aggregations[column - 1] as Aggregation;
    const last = this.columns.lastTime(column);
    if (timespan === null || last === undefined) return;
    this.columns.dropBefore(column, this.columns.lowerBound(column, last - timespan + 1));
  }
}

/**
 * What a metric held when it was taken (`MetricSeries.takeBuckets`): its former store, which
 * nothing writes again, read through views.
 */
export class TakenSeries {
  constructor(
    private readonly policy: ArchivePolicy,
    private readonly columns: ColumnSet,
  ) {}

  /** The raw tail's points from `from` on (all of them by default). */
  rawTail(from?: number): Points {
    return this.columns.view(RAW, from === undefined ? 0 : this.columns.lowerBound(RAW, from));
  }

  /**
   * Every aggregation that held buckets, with all of them, each as `make` shapes it: a checkpoint
   * takes thousands of metrics at once, and an intermediate object per series would be as many
   * more to collect.
   */
  buckets<Series>(
    make: (aggregation: Aggregation, timestamps: Float64Array, values: Float64Array) => Series,
  ): Series[] {
    const held: Series[] = [];
    this.policy.aggregations.forEach((aggregation, index) => {
      if (this.columns.length(index + 1) === 0) return;
      const { timestamps, values } = this.columns.view(index + 1);
      held.push(make(aggregation, timestamps, values));
    });
    return held;
  }
}

function assertIncreasing(points: Points, what: string): void {
  const { timestamps } = points;
  for (let index = 1; index < timestamps.length; index++) {
    if ((timestamps[index] as number) <= (timestamps[index - 1] as number)) {
      throw carbonaraErrors(
        'CARBONARA_INVALID_ARGUMENT',
        `snapshot ${what} is not in strictly increasing time order`,
      );
    }
  }
}
