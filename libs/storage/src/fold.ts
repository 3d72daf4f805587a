import { type Points, emptyPoints, mergePoints } from '@granary/carbonara';
import type { MetricReset } from './manifest.ts';
import type { Segment } from './segment-codec.ts';

/** One aggregation's buckets gathered from several segments. */
export interface FoldedAggregate {
  readonly method: string;
  readonly granularityUs: number;
  points: Points;
}

/** One metric's changes gathered from several segments, later segments winning. */
export interface FoldedMetric {
  raw: Points;
  /** By `<method>@<granularity>`. */
  readonly aggregates: Map<string, FoldedAggregate>;
  /** The metric was rebuilt in one of the folded segments: its stored objects are void. */
  replaces: boolean;
}

/**
 * Folds segments, oldest first, into one change set per metric: raw points and buckets merged with
 * Gnocchi's rule (the newer value wins on equal timestamps). Folding is associative, so any split of
 * a chain into consecutive runs folds to the same result. A metric with a reset (a rebuild) takes
 * nothing from segments before its reset segment, and starts over at it.
 */
export function foldSegments(
  segments: readonly Segment[],
  resets: readonly MetricReset[] = [],
): Map<string, FoldedMetric> {
  const into = new Map<string, FoldedMetric>();
  const resetSeq = new Map(resets.map((reset) => [reset.metricId, reset.seq]));
  for (const segment of segments) {
    for (const delta of segment.metrics) {
      const reset = resetSeq.get(delta.metricId);
      if (reset !== undefined && segment.seq < reset) continue;
      let folded = into.get(delta.metricId);
      if (!folded || segment.seq === reset) {
        folded = { raw: emptyPoints(), aggregates: new Map(), replaces: segment.seq === reset };
        into.set(delta.metricId, folded);
      }
      folded.raw = mergeNewer(folded.raw, delta.raw);
      for (const aggregate of delta.aggregates) {
        const key = `${aggregate.method}@${aggregate.granularityUs}`;
        const existing = folded.aggregates.get(key);
        if (existing) existing.points = mergeNewer(existing.points, aggregate);
        else
          folded.aggregates.set(key, {
            method: aggregate.method,
            granularityUs: aggregate.granularityUs,
            points: { timestamps: aggregate.timestamps, values: aggregate.values },
          });
      }
    }
  }
  return into;
}

function mergeNewer(older: Points, newer: Points): Points {
  if (older.timestamps.length === 0) return { timestamps: newer.timestamps, values: newer.values };
  if (newer.timestamps.length === 0) return older;
  return mergePoints(older, newer);
}
