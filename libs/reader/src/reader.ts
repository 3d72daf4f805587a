import type { BoundedLru } from '@granary/bounded-cache';
import {
  type Points,
  US_PER_SECOND,
  concatPoints,
  decodeSplit,
  emptyPoints,
  floorTimestamp,
  mergePoints,
  nextSplitKey,
  pointsInRange,
  splitKeyOf,
  truncateByTimespan,
} from '@granary/carbonara';
import { partitionFor } from '@granary/kafka';
import type { Instruments } from '@granary/observability';
import {
  type FoldedMetric,
  type ObjectStore,
  type Segment,
  decodeSegment,
  foldSegments,
  listSplitKeys,
  liveSegmentKeys,
  readManifest,
  splitObjectKey,
} from '@granary/storage';
import { readerErrors } from './errors.ts';
import { ReaderInstruments } from './instruments.ts';

/** What a read needs to know of a metric: its id and its policy's granularities and timespans (s). */
export interface ReadableMetric {
  readonly id: string;
  readonly archivePolicy: {
    readonly definition: readonly { readonly granularity: number; readonly timespan: number | null }[];
  };
}

/** One aggregation of one metric over some of its granularities (the REST port's query). */
export interface ReadQuery {
  readonly metric: ReadableMetric;
  readonly aggregation: string;
  /** Seconds, each one of the metric's policy. */
  readonly granularities: readonly number[];
  /** Epoch µs, inclusive, rounded down to each granularity. */
  readonly start?: number | undefined;
  /** Epoch µs, exclusive. */
  readonly stop?: number | undefined;
  readonly refresh: boolean;
}

export interface ReadSeries {
  granularitySeconds: number;
  points: Points;
}

/** Makes the owner of a partition checkpoint everything produced to it before the call. */
export interface PartitionRefresher {
  refresh(partition: number): Promise<void>;
}

export interface StoredMeasureReaderDeps {
  readonly store: ObjectStore;
  /** The measures topic and its partition count: they fix which partition owns a metric. */
  readonly topic: string;
  readonly partitions: number;
  /** Decoded live segments by object key; segments are immutable, so entries never go stale. */
  readonly segmentCache: BoundedLru<Segment>;
  /** Decoded splits by object key, with the bytes they came from (`DecodedSplit`); absent, none kept. */
  readonly splitCache?: BoundedLru<DecodedSplit> | undefined;
  /** Absent: `refresh=true` reads what is checkpointed. */
  readonly refresher?: PartitionRefresher | undefined;
  /** Where reads, refresh waits and the caches are measured (`granary_reader_*`); absent: nowhere. */
  readonly instruments?: Instruments | undefined;
}

/**
 * A split as last read. Compaction rewrites splits in place and the store has no cheap version
 * check, so a cached split is used only when the bytes read now are the bytes it was decoded from:
 * comparing them costs a memcmp, decoding them costs ~20× that (a year: 147 splits, ~11 ms).
 */
export interface DecodedSplit {
  readonly bytes: Uint8Array;
  readonly points: Points;
}

/** What a decoded split weighs in a cache: its bytes and two float64 columns. */
const decodedSplitBytes = (split: DecodedSplit): number =>
  split.bytes.byteLength + split.points.timestamps.byteLength + split.points.values.byteLength;

// A segment named by the manifest can be deleted by a compaction right after the manifest was read
// (ADR 0011); a fresh manifest no longer names it. More misses in a row mean something is wrong.
const MANIFEST_ATTEMPTS = 3;

/**
 * Gnocchi's read path over Granary's two storage tiers: the compacted splits in range, overlaid
 * with the partition's live checkpoint segments (newer wins), truncated to the timespan and cut to
 * [start, stop). Resampling is left to the caller, as it applies to the whole series.
 */
export class StoredMeasureReader {
  private readonly measures: ReaderInstruments;

  constructor(private readonly deps: StoredMeasureReaderDeps) {
    this.measures = new ReaderInstruments(deps.instruments);
  }

  read(query: ReadQuery): Promise<ReadSeries[]> {
    return this.measures.read(() => this.readSeries(query));
  }

  private async readSeries(query: ReadQuery): Promise<ReadSeries[]> {
    const { metric } = query;
    const partition = partitionFor(metric.id, this.deps.partitions);
    const refresher = this.deps.refresher;
    if (query.refresh && refresher) await this.measures.refreshWait(() => refresher.refresh(partition));
    const live = await this.liveChanges(partition, metric.id);
    return Promise.all(
      query.granularities.map(async (granularitySeconds) => {
        const item = metric.archivePolicy.definition.find((d) => d.granularity === granularitySeconds);
        const granularityUs = granularitySeconds * US_PER_SECOND;
        const overlay = live?.aggregates.get(`${query.aggregation}@${granularityUs}`)?.points;
        // A rebuilt metric whose new state is not compacted yet: its stored splits are void.
        const stored = live?.replaces ? 'void' : 'read';
        const points = await this.series(query, granularityUs, item?.timespan ?? null, overlay, stored);
        return { granularitySeconds, points };
      }),
    );
  }

  /** One granularity: Gnocchi's `get_aggregated_measures` with the live buckets merged over the splits. */
  private async series(
    query: ReadQuery,
    granularityUs: number,
    timespanSeconds: number | null,
    overlay: Points | undefined,
    stored: 'read' | 'void',
  ): Promise<Points> {
    const { metric, aggregation, start, stop } = query;
    const firstKey = start === undefined ? Number.NEGATIVE_INFINITY : splitKeyOf(start, granularityUs);
    const lastKey = stop === undefined ? Number.POSITIVE_INFINITY : splitKeyOf(stop, granularityUs);
    const listed =
      stored === 'read' ? await listSplitKeys(this.deps.store, metric.id, aggregation, granularityUs) : [];
    const refs = listed
      .filter((ref) => ref.splitKeyUs >= firstKey && ref.splitKeyUs <= lastKey)
      .sort((a, b) => a.splitKeyUs - b.splitKeyUs);
    const splits = await Promise.all(
      refs.map(async (ref) => {
        const key = splitObjectKey(metric.id, ref);
        const bytes = await this.deps.store.get(key);
        if (!bytes) return emptyPoints(); // compacted away (retention) since the listing
        return this.decodedSplit(key, ref.splitKeyUs, granularityUs, bytes);
      }),
    );
    // Splits of one series cover disjoint key ranges: in key order they only need joining (into new
    // arrays: cached splits are shared by every read).
    let points = concatPoints(splits);
    if (overlay) {
      // The same split range as the stored side, so that truncation sees what Gnocchi would.
      const end = lastKey === Number.POSITIVE_INFINITY ? undefined : nextSplitKey(lastKey, granularityUs);
      const from = firstKey === Number.NEGATIVE_INFINITY ? undefined : firstKey;
      points = mergePoints(points, pointsInRange(overlay, from, end));
    }
    if (timespanSeconds !== null) points = truncateByTimespan(points, timespanSeconds * US_PER_SECOND);
    return pointsInRange(
      points,
      start === undefined ? undefined : floorTimestamp(start, granularityUs),
      stop,
    );
  }

  private decodedSplit(key: string, splitKeyUs: number, granularityUs: number, bytes: Uint8Array): Points {
    const cache = this.deps.splitCache;
    const cached = cache?.get(key);
    const hit =
      cached !== undefined &&
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(cached.bytes);
    if (cache) this.measures.looked('split', hit);
    if (hit) return cached.points;
    const points = decodeSplit(splitKeyUs, granularityUs, bytes);
    if (points instanceof Error) throw readerErrors('READER_CORRUPT_OBJECT', key, { cause: points });
    const split = { bytes, points };
    if (cache) this.measures.store('split', cache, key, split, decodedSplitBytes(split));
    return points;
  }

  /** The metric's changes in the partition's live segments, folded oldest first; none before any checkpoint. */
  private async liveChanges(partition: number, metricId: string): Promise<FoldedMetric | undefined> {
    for (let attempt = 1; attempt <= MANIFEST_ATTEMPTS; attempt++) {
      const current = await readManifest(this.deps.store, this.deps.topic, partition);
      if (!current) return undefined;
      const segments = await Promise.all(liveSegmentKeys(current.manifest).map((key) => this.segment(key)));
      if (segments.some((segment) => segment === undefined)) continue;
      const ofMetric = (segments as Segment[]).map((segment) => ({
        ...segment,
        metrics: segment.metrics.filter((delta) => delta.metricId === metricId),
      }));
      return foldSegments(ofMetric, current.manifest.resets).get(metricId);
    }
    throw readerErrors('READER_SEGMENTS_MOVING', `${this.deps.topic}/${partition}`, {
      details: { attempts: MANIFEST_ATTEMPTS },
    });
  }

  private async segment(key: string): Promise<Segment | undefined> {
    const cached = this.deps.segmentCache.get(key);
    this.measures.looked('segment', cached !== undefined);
    if (cached) return cached;
    const bytes = await this.deps.store.get(key);
    if (!bytes) return undefined;
    const segment = decodeSegment(bytes);
    this.measures.store('segment', this.deps.segmentCache, key, segment, bytes.byteLength);
    return segment;
  }
}
