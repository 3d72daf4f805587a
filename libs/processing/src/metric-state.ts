import { type ApplyResult, MetricSeries, type Points, pointsInRange } from '@granary/carbonara';
import type { AggregateDelta, MetricDelta } from '@granary/storage';
import type { CompiledPolicy } from './policy-cache.ts';

/**
 * Gnocchi's BoundTimeSerie truncation: keep the last point's block of `maxBlockSize` and
 * `rawBackWindow` blocks before it. A raw tail rebuilt from a compacted `none_v3` plus segment
 * deltas holds a superset of the live tail; truncating it gives exactly the live tail back.
 */
export function truncateRawTail(points: Points, compiled: CompiledPolicy): Points {
  const { timestamps } = points;
  if (timestamps.length === 0) return points;
  const last = timestamps[timestamps.length - 1] as number;
  const blockSize = compiled.policy.maxBlockSize;
  return pointsInRange(points, last - (last % blockSize) - blockSize * compiled.rawBackWindow);
}

/**
 * One metric of an owned partition: its carbonara series and what changed since the last
 * checkpoint. Only the raw tail is restored from storage; aggregate buckets recomputed after that
 * are merged over the stored splits at compaction (new wins), which is Gnocchi's own rule, so once
 * a delta has taken them, the buckets no apply can change again leave memory (`takeDelta`).
 */
export class MetricState {
  private series: MetricSeries;
  /** Earliest measure time applied since the last delta: the raw tail changed from there on. */
  private rawDirtyFrom = Number.POSITIVE_INFINITY;
  /**
   * Per aggregation (policy order): earliest recomputed bucket since the last delta. A plain
   * array, not a Float64Array: a typed array this small costs an off-heap buffer with its native
   * bookkeeping, about 0.7 KB of RSS per metric (apps/processor/bench-memory.ts).
   */
  private readonly aggregateDirtyFrom: number[];
  /** The next delta is the whole state (a rebuilt metric), not what changed. */
  private wholeStatePending = false;

  constructor(
    readonly metricId: string,
    readonly compiled: CompiledPolicy,
    rawTail?: Points,
  ) {
    this.series = new MetricSeries(compiled.policy, {
      rawTail: rawTail && truncateRawTail(rawTail, compiled),
    });
    this.aggregateDirtyFrom = new Array<number>(compiled.policy.aggregations.length).fill(
      Number.POSITIVE_INFINITY,
    );
  }

  get dirty(): boolean {
    return this.wholeStatePending || this.rawDirtyFrom !== Number.POSITIVE_INFINITY;
  }

  /** Makes the next delta carry the whole raw tail and every bucket (the state replaces what is stored). */
  markWholeStateChanged(): void {
    this.wholeStatePending = true;
  }

  /** Applies one batch (throws CARBONARA_INVALID_MEASURE for a malformed one, before any change). */
  apply(timestamps: ArrayLike<number>, values: ArrayLike<number>): ApplyResult {
    const result = this.series.apply(timestamps, values);
    if (result.accepted === 0) return result;
    let earliest = Number.POSITIVE_INFINITY;
    for (let index = 0; index < timestamps.length; index++) {
      const ts = timestamps[index] as number;
      if (ts < earliest) earliest = ts;
    }
    if (earliest < this.rawDirtyFrom) this.rawDirtyFrom = earliest;
    for (const change of result.changes) {
      const index = this.compiled.aggregationIndex.get(change.aggregation) as number;
      if (change.from < (this.aggregateDirtyFrom[index] as number))
        this.aggregateDirtyFrom[index] = change.from;
    }
    return result;
  }

  /**
   * What changed since the previous delta, then forgets it: the raw tail from the earliest applied
   * measure on (points before it are unchanged) and, per aggregation, every bucket from the
   * earliest recomputed one on (later buckets were recomputed by the same apply or after it).
   */
  takeDelta(): MetricDelta | undefined {
    if (!this.dirty) return undefined;
    const whole = this.wholeStatePending;
    const raw = whole ? this.series.rawTail() : pointsInRange(this.series.rawTail(), this.rawDirtyFrom);
    const aggregates: AggregateDelta[] = [];
    this.compiled.policy.aggregations.forEach((aggregation, index) => {
      const from = this.aggregateDirtyFrom[index] as number;
      if (!whole && from === Number.POSITIVE_INFINITY) return;
      const points = this.series.points(
        aggregation.method,
        aggregation.granularity,
        whole ? undefined : from,
      );
      if (points.timestamps.length === 0) return;
      aggregates.push({ method: aggregation.method, granularityUs: aggregation.granularity, ...points });
    });
    this.rawDirtyFrom = Number.POSITIVE_INFINITY;
    this.aggregateDirtyFrom.fill(Number.POSITIVE_INFINITY);
    this.wholeStatePending = false;
    // Moves the columns' heads only, so the views in the delta stay valid until the next apply.
    this.series.forgetFinalBuckets();
    return { metricId: this.metricId, raw, aggregates };
  }
}
