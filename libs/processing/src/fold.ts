import { type Points, emptyPoints, mergePoints } from '@granary/carbonara';
import type { Segment } from '@granary/storage';

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
}

/**
 * Folds segments, oldest first, into one change set per metric: raw points and buckets merged with
 * Gnocchi's rule (the newer value wins on equal timestamps). Folding is associative, so any split of
 * a chain into consecutive runs folds to the same result.
 */
export function foldSegments(segments: readonly Segment[], into = new Map<string, FoldedMetric>()) {
  for (const segment of segments) {
    for (const delta of segment.metrics) {
      let folded = into.get(delta.metricId);
      if (!folded) {
        folded = { raw: emptyPoints(), aggregates: new Map() };
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
