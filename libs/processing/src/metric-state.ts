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
 * a delta has taken them they leave memory (`takeDelta`): between checkpoints a metric holds its
 * raw tail and the buckets recomputed since, which are exactly what the next delta carries.
 */
export class MetricState {
  private readonly series: MetricSeries;
  /** Earliest measure time applied since the last delta: the raw tail changed from there on. */
  private rawDirtyFrom = Number.POSITIVE_INFINITY;
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
    return result;
  }

  /**
   * What changed since the previous delta, then forgets it: the raw tail from the earliest applied
   * measure on (points before it are unchanged) and every bucket held (each was recomputed since
   * the previous delta). The delta's arrays are views of the metric's former store, which later
   * applies never change: it may be encoded while batches go on.
   */
  takeDelta(): MetricDelta | undefined {
    if (!this.dirty) return undefined;
    const taken = this.series.takeBuckets();
    const raw = taken.rawTail(this.wholeStatePending ? undefined : this.rawDirtyFrom);
    this.rawDirtyFrom = Number.POSITIVE_INFINITY;
    this.wholeStatePending = false;
    const aggregates = taken.buckets<AggregateDelta>(({ method, granularity }, timestamps, values) => ({
      method,
      granularityUs: granularity,
      timestamps,
      values,
    }));
    return { metricId: this.metricId, raw, aggregates };
  }
}
