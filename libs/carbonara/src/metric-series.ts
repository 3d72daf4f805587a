import { type Grouping, derivedValues, groupByBucket, reduceGroups } from './aggregate.ts';
import { carbonaraErrors } from './errors.ts';
import { type ParsedMethod, parseMethod } from './methods.ts';
import { type Points, PointsBuffer, lowerBound, mergeInto, normalizeBatch } from './points.ts';
import type { Aggregation, ArchivePolicy } from './policy.ts';
import { floorTimestamp, splitKeyOf } from './time.ts';

/**
 * A sorted growable series whose oldest points can be dropped in O(1): live points sit in
 * [head, end) of the backing arrays.
 */
class Column {
  // Both columns share one allocation (times in the first half): typed-array backing stores
  // are costly to allocate, and young series grow often.
  times: Float64Array;
  values: Float64Array;
  head = 0;
  end = 0;

  constructor(capacity = 16) {
    [this.times, this.values] = Column.allocate(capacity);
  }

  private static allocate(capacity: number): [Float64Array, Float64Array] {
    const storage = new Float64Array(capacity * 2);
    return [storage.subarray(0, capacity), storage.subarray(capacity)];
  }

  get length(): number {
    return this.end - this.head;
  }

  view(): Points {
    return {
      timestamps: this.times.subarray(this.head, this.end),
      values: this.values.subarray(this.head, this.end),
    };
  }

  lowerBound(target: number): number {
    return lowerBound(this.times, target, this.head, this.end);
  }

  dropBefore(index: number): void {
    this.head = index;
  }

  /**
   * Gives memory back once most of the capacity holds dropped points (a series that held a long
   * history, then forgot it). Views handed out before keep the old arrays, unchanged.
   */
  shrinkToFit(): void {
    const live = this.length;
    if (this.times.length < SHRINK_FROM_CAPACITY || live * 4 > this.times.length) return;
    const [times, values] = Column.allocate(Math.max(16, live * 2));
    times.set(this.times.subarray(this.head, this.end));
    values.set(this.values.subarray(this.head, this.end));
    this.times = times;
    this.values = values;
    this.head = 0;
    this.end = live;
  }

  /** Merges `incoming[from, to)` (sorted, new wins) over the live points. */
  merge(incoming: Points, from: number, to: number): void {
    if (from >= to) return;
    const first = incoming.timestamps[from] as number;
    const last = this.times[this.end - 1] as number;
    if (this.end === this.head || first >= last) {
      // The common case: new measures, and recomputed buckets, start at or after the last live
      // point. Replace that point if it is the first incoming one, then append, element by
      // element: no views allocated, which per batch cost more than the copying.
      if (first === last && this.end > this.head) this.end--;
      this.reserve(to - from);
      const { times, values } = this;
      let at = this.end;
      for (let index = from; index < to; index++) {
        times[at] = incoming.timestamps[index] as number;
        values[at++] = incoming.values[index] as number;
      }
      this.end = at;
      return;
    }
    const start = this.lowerBound(first) - this.head;
    const merged = mergeInto(this.view(), start, this.length, incoming, from, to, mergeBuffer);
    this.end = this.head + start;
    this.reserve(merged);
    this.times.set(mergeBuffer.timestamps.subarray(0, merged), this.head + start);
    this.values.set(mergeBuffer.values.subarray(0, merged), this.head + start);
    this.end = this.head + start + merged;
  }

  /** Makes room for `extra` more points after `end`, reclaiming dropped points or growing the arrays. */
  private reserve(extra: number): void {
    if (this.end + extra <= this.times.length) return;
    const live = this.length;
    const needed = live + extra;
    if (needed * 2 <= this.times.length) {
      // At least half the arrays stay free after compaction, so compactions cost O(1) per point.
      this.times.copyWithin(0, this.head, this.end);
      this.values.copyWithin(0, this.head, this.end);
    } else {
      const [times, values] = Column.allocate(needed * 2);
      times.set(this.times.subarray(this.head, this.end));
      values.set(this.values.subarray(this.head, this.end));
      this.times = times;
      this.values = values;
    }
    this.head = 0;
    this.end = live;
  }
}

/** Columns smaller than this are not worth reallocating. */
const SHRINK_FROM_CAPACITY = 256;
const mergeBuffer = new PointsBuffer();
const bucketBuffer = new PointsBuffer();
const batchBuffer = new PointsBuffer();

interface AggregateState {
  readonly aggregation: Aggregation;
  readonly method: ParsedMethod;
  readonly column: Column;
}

interface GranularityState {
  readonly granularity: number;
  readonly plain: readonly AggregateState[];
  readonly rate: readonly AggregateState[];
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
  private readonly rawTailColumn = new Column();
  private readonly granularities: readonly GranularityState[];
  /** By granularity, then method. */
  private readonly aggregates = new Map<number, Map<string, AggregateState>>();
  /** Blocks of `maxBlockSize` kept before the last one; rate methods need one more for their first delta. */
  private readonly rawBackWindow: number;

  constructor(policy: ArchivePolicy, snapshot: MetricSnapshot = {}) {
    this.policy = policy;
    const states = policy.aggregations.map((aggregation) => ({
      aggregation,
      method: parseMethod(aggregation.method),
      column: new Column(),
    }));
    for (const state of states) {
      const { method, granularity } = state.aggregation;
      const byMethod = this.aggregates.get(granularity) ?? new Map<string, AggregateState>();
      this.aggregates.set(granularity, byMethod.set(method, state));
    }
    this.granularities = policy.definition.map(({ granularity }) => {
      const ofGranularity = states.filter((state) => state.aggregation.granularity === granularity);
      return {
        granularity,
        plain: ofGranularity.filter((state) => !state.method.rate),
        rate: ofGranularity.filter((state) => state.method.rate),
      };
    });
    this.rawBackWindow = policy.backWindow + (states.some((state) => state.method.rate) ? 1 : 0);
    if (snapshot.rawTail) {
      assertIncreasing(snapshot.rawTail, 'raw tail');
      this.rawTailColumn.merge(snapshot.rawTail, 0, snapshot.rawTail.timestamps.length);
      // A policy whose back window shrank keeps fewer blocks (Gnocchi's janitor re-truncation).
      if (this.rawTailColumn.length > 0) {
        this.rawTailColumn.dropBefore(
          this.rawTailColumn.lowerBound(this.firstBlockStart(policy.maxBlockSize)),
        );
      }
    }
    for (const { method, granularity, points } of snapshot.aggregates ?? []) {
      const state = this.stateOf(method, granularity);
      assertIncreasing(points, `${method} at ${granularity}`);
      state.column.merge(points, 0, points.timestamps.length);
      this.applyRetention(state);
    }
  }

  /** Applies one batch of measures (any order; of duplicate timestamps the smallest value stays). */
  apply(timestamps: ArrayLike<number>, values: ArrayLike<number>): ApplyResult {
    const length = normalizeBatch(timestamps, values, batchBuffer);
    const raw = this.rawTailColumn;
    const blockSize = this.policy.maxBlockSize;
    const droppedTooOld =
      raw.length === 0 ? 0 : lowerBound(batchBuffer.timestamps, this.firstBlockStart(blockSize), 0, length);
    const accepted = length - droppedTooOld;
    if (accepted === 0) return { accepted, droppedTooOld, changes: [] };
    raw.merge(batchBuffer, droppedTooOld, length);

    // Gnocchi recomputes from max(first raw point, oldest measure of the batch), counting the
    // oldest even when it was too old to keep: then the whole raw tail is recomputed, and a rate's
    // first new delta takes the point before it however far back (storage/__init__.py `tstamp`).
    const firstNew = (droppedTooOld > 0 ? raw.times[raw.head] : batchBuffer.timestamps[0]) as number;
    const changes: AggregationChange[] = [];
    for (const { granularity, plain, rate } of this.granularities) {
      const bucketStart = floorTimestamp(firstNew, granularity);
      const first = raw.lowerBound(bucketStart);
      if (plain.length > 0) {
        const timestamps = raw.times.subarray(first, raw.end);
        const grouping = groupByBucket(timestamps, granularity);
        const values = raw.values.subarray(first, raw.end);
        for (const state of plain) this.recompute(state, values, grouping, changes);
      }
      if (rate.length > 0) {
        // Gnocchi seeds the first delta with one prior point, if there is one within a granularity.
        const seed = raw.lowerBound(bucketStart - granularity);
        const firstDerived = Math.max(seed + 1, first);
        const grouping = groupByBucket(raw.times.subarray(firstDerived, raw.end), granularity);
        const deltas = derivedValues(raw.values, firstDerived, raw.end);
        for (const state of rate) this.recompute(state, deltas, grouping, changes);
      }
    }
    raw.dropBefore(raw.lowerBound(this.firstBlockStart(blockSize)));
    return { accepted, droppedTooOld, changes };
  }

  /**
   * Drops the buckets no later `apply` can change: those before the bucket of the first raw block
   * still accepted (older measures are dropped as too old, and that block start only moves
   * forward). What `points` gave for them was final, so a caller that kept it (a checkpoint) loses
   * nothing, and memory stays at the raw tail's span instead of each aggregation's timespan.
   * Views returned earlier stay valid until the next `apply`, as always.
   */
  forgetFinalBuckets(): void {
    if (this.rawTailColumn.length === 0) return;
    const firstAccepted = this.firstBlockStart(this.policy.maxBlockSize);
    for (const byMethod of this.aggregates.values()) {
      for (const { column, aggregation } of byMethod.values()) {
        column.dropBefore(column.lowerBound(floorTimestamp(firstAccepted, aggregation.granularity)));
        column.shrinkToFit();
      }
    }
  }

  /**
   * The raw tail, for `encodeRawTail`. Like `points`, it returns views of live state: use or copy
   * them before the next `apply`.
   */
  rawTail(): Points {
    return this.rawTailColumn.view();
  }

  /**
   * One aggregation's points in [from, to), `from` floored to the granularity (Gnocchi's
   * `fetch`). The arrays are views of live state, valid until the next `apply` (copying every
   * dirty range on the checkpoint path would cost more than the encoding). Throws
   * CARBONARA_INVALID_ARGUMENT if the policy has no such aggregation.
   */
  points(method: string, granularity: number, from?: number, to?: number): Points {
    const { column } = this.stateOf(method, granularity);
    const first = from === undefined ? column.head : column.lowerBound(floorTimestamp(from, granularity));
    const end = to === undefined ? column.end : Math.max(first, column.lowerBound(to));
    return {
      timestamps: column.times.subarray(first, end),
      values: column.values.subarray(first, end),
    };
  }

  private stateOf(method: string, granularity: number): AggregateState {
    const state = this.aggregates.get(granularity)?.get(method);
    if (!state) {
      throw carbonaraErrors(
        'CARBONARA_INVALID_ARGUMENT',
        `policy ${this.policy.name} has no ${method} aggregation at granularity ${granularity}`,
      );
    }
    return state;
  }

  /** Gnocchi's `first_block_timestamp`: the start of the oldest raw block kept. */
  private firstBlockStart(blockSize: number): number {
    const last = this.rawTailColumn.times[this.rawTailColumn.end - 1] as number;
    return floorTimestamp(last, blockSize) - blockSize * this.rawBackWindow;
  }

  private recompute(
    state: AggregateState,
    values: Float64Array,
    grouping: Grouping,
    changes: AggregationChange[],
  ): void {
    const out = bucketBuffer.reserve(grouping.count);
    const count = reduceGroups(values, grouping, state.method, out.timestamps, out.values);
    if (count === 0) return;
    const { column, aggregation } = state;
    column.merge(out, 0, count);
    this.applyRetention(state);
    const oldestKept = column.times[column.head] as number;
    const lastComputed = out.timestamps[count - 1] as number;
    if (lastComputed < oldestKept) return;
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

  private applyRetention(state: AggregateState): void {
    const { column, aggregation } = state;
    if (aggregation.timespan === null || column.length === 0) return;
    const horizon = (column.times[column.end - 1] as number) - aggregation.timespan;
    column.dropBefore(column.lowerBound(horizon + 1));
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
