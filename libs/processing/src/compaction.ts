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
  type SplitRef,
  type StoredObject,
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
  /** Called once per object written, after its metric's writes are durable (fault injection, progress). */
  afterWrite?(): void;
}

/** One split a compaction may rewrite. */
interface SplitChange {
  readonly key: string;
  readonly splitKeyUs: number;
  readonly granularityUs: number;
  /** New buckets, merged over the stored ones (new wins); undefined: retention only trims it. */
  readonly fresh: Points | undefined;
  /** The aggregation's retention: the buckets the split keeps. */
  readonly keep: (points: Points) => Points;
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
 * The stored objects are read at once and the new ones written in one batch (one durability
 * barrier per metric); expired splits are deleted only after that batch is durable.
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
  const changes = planSplitChanges(metricId, folded, compiled, storedSplits, expired);
  const [stored, storedRaw] = await Promise.all([
    Promise.all(
      changes.map((change) =>
        existing.has(change.key)
          ? readSplit(store, change.key, change.splitKeyUs, change.granularityUs, hooks)
          : undefined,
      ),
    ),
    folded.raw.timestamps.length > 0 ? readRawTail(store, metricId, hooks.onCorrupt) : undefined,
  ]);

  const writes: StoredObject[] = [];
  changes.forEach((change, index) => {
    const before = stored[index];
    let after: Points;
    if (change.fresh) {
      const merged =
        before && before.timestamps.length > 0 ? mergePoints(before, change.fresh) : change.fresh;
      after = change.keep(merged);
    } else {
      // The split the retention horizon falls in loses its expired buckets even when no new
      // bucket lands in it, so its bytes do not depend on when compactions happened.
      if (!before) return;
      after = change.keep(before);
      if (after.timestamps.length === before.timestamps.length) return;
    }
    // Gnocchi stores no empty split. A split whose buckets came out as stored (a min or max the new
    // measures did not move) is left as it is: rewriting it would only cost a file.
    if (after.timestamps.length === 0) {
      if (existing.has(change.key)) expired.push(change.key);
    } else if (!(before && samePoints(before, after))) {
      writes.push({ key: change.key, bytes: encodeSplit(change.splitKeyUs, change.granularityUs, after) });
    }
  });
  if (folded.raw.timestamps.length > 0) {
    const merged =
      storedRaw && storedRaw.timestamps.length > 0 ? mergePoints(storedRaw, folded.raw) : folded.raw;
    writes.push({ key: rawTailKey(metricId), bytes: encodeRawTail(truncateRawTail(merged, compiled)) });
  }
  if (writes.length > 0) await store.putMany(writes);
  for (let written = 0; written < writes.length; written++) hooks.afterWrite?.();
  if (expired.length > 0) await store.delete(expired);
}

/**
 * The splits of the folded aggregations to rewrite: every split a new bucket lands in (unless
 * wholly expired), and the stored split the retention horizon falls in. Stored splits wholly
 * before the horizon go into `expired`.
 */
function planSplitChanges(
  metricId: string,
  folded: FoldedMetric,
  compiled: CompiledPolicy,
  storedSplits: readonly SplitRef[],
  expired: string[],
): SplitChange[] {
  const changes: SplitChange[] = [];
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
    const { firstSplitKey, keep } = retentionOf(aggregation.timespan, timestamps, granularityUs);

    const touched = new Set<number>();
    let rest = aggregate.points;
    while (rest.timestamps.length > 0) {
      const splitKeyUs = splitKeyOf(rest.timestamps[0] as number, granularityUs);
      const nextKey = nextSplitKey(splitKeyUs, granularityUs);
      const fresh = pointsInRange(rest, undefined, nextKey);
      rest = pointsInRange(rest, nextKey);
      touched.add(splitKeyUs);
      if (splitKeyUs < firstSplitKey) continue;
      const key = splitObjectKey(metricId, { method, granularityUs, splitKeyUs });
      changes.push({ key, splitKeyUs, granularityUs, fresh, keep });
    }
    for (const split of storedSplits) {
      if (split.method !== method || split.granularityUs !== granularityUs) continue;
      const key = splitObjectKey(metricId, split);
      if (split.splitKeyUs < firstSplitKey) expired.push(key);
      else if (split.splitKeyUs === firstSplitKey && !touched.has(split.splitKeyUs)) {
        changes.push({ key, splitKeyUs: split.splitKeyUs, granularityUs, fresh: undefined, keep });
      }
    }
  }
  return changes;
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

function samePoints(a: Points, b: Points): boolean {
  const count = a.timestamps.length;
  if (b.timestamps.length !== count) return false;
  for (let index = 0; index < count; index++) {
    if (a.timestamps[index] !== b.timestamps[index] || !Object.is(a.values[index], b.values[index]))
      return false;
  }
  return true;
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
