import {
  type Points,
  decodeRawTail,
  decodeSplit,
  encodeRawTail,
  encodeSplit,
  mergePoints,
  nextSplitKey,
  pointsInRange,
  splitKeyOf,
} from '@granary/carbonara';
import {
  type FoldedMetric,
  type ObjectStore,
  deleteMetric,
  listSplitKeys,
  rawTailKey,
  splitObjectKey,
} from '@granary/storage';
import { truncateRawTail } from './metric-state.ts';
import type { CompiledPolicy } from './policy-cache.ts';

export interface CompactionHooks {
  /** A stored object could not be decoded; Gnocchi reads it as empty and so does compaction. */
  onCorrupt(key: string, error: Error): void;
  /** Called after each object written (fault injection, progress). */
  afterWrite?(): void;
}

/**
 * Folds one metric's changes into its Gnocchi-layout objects: each touched split is read, merged
 * with the new buckets (new wins), re-encoded and written whole; the raw tail likewise, then
 * truncated to its live blocks. Retention is applied relative to the aggregation's last bucket (the
 * newest folded one): splits wholly before the horizon are deleted, and the split the horizon falls
 * in keeps only the buckets after it. Every bucket after the final horizon was recomputed into some
 * segment in every run (retention never dropped it from memory), so the stored bytes depend only
 * on the measures applied, never on checkpoint or compaction timing, crashes or retries.
 * A rebuilt metric (`folded.replaces`) first loses every stored object: its changes are its whole
 * state. Deleting again after a crash is harmless, as the manifest still names the reset.
 */
export async function compactMetric(
  store: ObjectStore,
  metricId: string,
  folded: FoldedMetric,
  compiled: CompiledPolicy,
  hooks: CompactionHooks,
): Promise<void> {
  if (folded.replaces) await deleteMetric(store, metricId);
  const storedSplits = await listSplitKeys(store, metricId);
  const existing = new Set(storedSplits.map((split) => splitObjectKey(metricId, split)));
  const expired: string[] = [];
  /** Writes a split's new content, or deletes it when nothing is left (Gnocchi stores no empty split). */
  const writeSplit = async (key: string, splitKeyUs: number, granularityUs: number, points: Points) => {
    if (points.timestamps.length > 0) {
      await store.put(key, encodeSplit(splitKeyUs, granularityUs, points));
      hooks.afterWrite?.();
    } else if (existing.has(key)) expired.push(key);
  };
  for (const aggregate of folded.aggregates.values()) {
    const aggregation = compiled.policy.aggregations.find(
      (candidate) =>
        candidate.method === aggregate.method && candidate.granularity === aggregate.granularityUs,
    );
    // The policy no longer has this aggregation: nothing to keep it for.
    if (!aggregation) continue;
    const { method, granularityUs } = aggregate;
    const { timestamps } = aggregate.points;
    if (timestamps.length === 0) continue;
    const retention = retentionOf(aggregation.timespan, timestamps, granularityUs);

    const touched = new Set<number>();
    let rest = aggregate.points;
    while (rest.timestamps.length > 0) {
      const splitKeyUs = splitKeyOf(rest.timestamps[0] as number, granularityUs);
      const nextKey = nextSplitKey(splitKeyUs, granularityUs);
      const fresh = pointsInRange(rest, undefined, nextKey);
      rest = pointsInRange(rest, nextKey);
      touched.add(splitKeyUs);
      if (splitKeyUs < retention.firstSplitKey) continue;
      const key = splitObjectKey(metricId, { method, granularityUs, splitKeyUs });
      const stored = existing.has(key)
        ? await readSplit(store, key, splitKeyUs, granularityUs, hooks)
        : undefined;
      const merged = stored && stored.timestamps.length > 0 ? mergePoints(stored, fresh) : fresh;
      await writeSplit(key, splitKeyUs, granularityUs, retention.keep(merged));
    }
    for (const split of storedSplits) {
      if (split.method !== method || split.granularityUs !== granularityUs) continue;
      const key = splitObjectKey(metricId, split);
      if (split.splitKeyUs < retention.firstSplitKey) expired.push(key);
      else if (split.splitKeyUs === retention.firstSplitKey && !touched.has(split.splitKeyUs)) {
        // The split the retention horizon falls in loses its expired buckets even when no new
        // bucket lands in it, so its bytes do not depend on when compactions happened.
        const stored = await readSplit(store, key, split.splitKeyUs, granularityUs, hooks);
        const kept = stored && retention.keep(stored);
        if (kept && kept.timestamps.length !== stored.timestamps.length) {
          await writeSplit(key, split.splitKeyUs, granularityUs, kept);
        }
      }
    }
  }

  if (folded.raw.timestamps.length > 0) {
    const stored = await readRawTail(store, metricId, hooks.onCorrupt);
    const merged = stored && stored.timestamps.length > 0 ? mergePoints(stored, folded.raw) : folded.raw;
    await store.put(rawTailKey(metricId), encodeRawTail(truncateRawTail(merged, compiled)));
    hooks.afterWrite?.();
  }
  if (expired.length > 0) await store.delete(expired);
}

/** The stored raw tail of a metric (empty when none or unreadable). */
export async function readRawTail(
  store: ObjectStore,
  metricId: string,
  onCorrupt: (key: string, error: Error) => void,
): Promise<Points | undefined> {
  const key = rawTailKey(metricId);
  const bytes = await store.get(key);
  if (!bytes) return undefined;
  const decoded = decodeRawTail(bytes);
  if (decoded instanceof Error) {
    onCorrupt(key, decoded);
    return undefined;
  }
  return decoded;
}

async function readSplit(
  store: ObjectStore,
  key: string,
  splitKeyUs: number,
  granularityUs: number,
  hooks: CompactionHooks,
): Promise<Points | undefined> {
  const bytes = await store.get(key);
  if (!bytes) return undefined;
  const decoded = decodeSplit(splitKeyUs, granularityUs, bytes);
  if (decoded instanceof Error) {
    hooks.onCorrupt(key, decoded);
    return undefined;
  }
  return decoded;
}

/** What an aggregation keeps: buckets strictly after `last - timespan` (Gnocchi's truncate). */
function retentionOf(timespan: number | null, timestamps: Float64Array, granularityUs: number) {
  if (timespan === null) return { firstSplitKey: Number.NEGATIVE_INFINITY, keep: (points: Points) => points };
  const horizon = (timestamps[timestamps.length - 1] as number) - timespan;
  return {
    firstSplitKey: splitKeyOf(Math.max(0, horizon + 1), granularityUs),
    keep: (points: Points) => pointsInRange(points, horizon + 1),
  };
}
