import { type Points, carbonaraErrors, mergePoints } from '@granary/carbonara';
import type { Logger } from '@granary/observability';
import {
  type LiveSegment,
  type MetricDelta,
  type MetricReset,
  type ObjectStore,
  type PartitionManifest,
  type Segment,
  checkpointPrefix,
  claimPartition,
  decodeSegment,
  encodeSegment,
  foldSegments,
  liveSegmentKeys,
  parseSegmentKey,
  readManifest,
  segmentKey,
  storageErrors,
  writeManifest,
} from '@granary/storage';
import type { CheckpointPublication } from './checkpoint-publication.ts';
import { compactMetric, readRawTail } from './compaction.ts';
import { forEachConcurrently } from './concurrency.ts';
import { processingErrors } from './errors.ts';
import type { FaultInjector } from './faults.ts';
import type { ProcessingInstruments } from './instruments.ts';
import { MetricState } from './metric-state.ts';
import type { PolicyCache } from './policy-cache.ts';

/** One decoded MeasureBatch record of the partition. */
export interface MeasureRecord {
  readonly offset: number;
  readonly metricId: string;
  readonly timestamps: ArrayLike<number>;
  readonly values: ArrayLike<number>;
}

/** Records of a batch that were not applied and must go to the dead-letter topic, with why. */
export interface Rejection {
  readonly index: number;
  readonly error: Error;
}

export interface PartitionSettings {
  /** Raw tails fetched at once when a batch brings metrics not seen yet. */
  readonly loadConcurrency: number;
  /** Metrics compacted at once. */
  readonly compactionConcurrency: number;
  /** Segments folded by one compaction at most (the oldest ones). */
  readonly compactionMaxSegments: number;
}

export interface PartitionDeps {
  readonly store: ObjectStore;
  readonly topic: string;
  readonly policies: PolicyCache;
  readonly instruments: ProcessingInstruments;
  readonly faults: FaultInjector;
  readonly logger: Logger;
  /** Wall clock in epoch µs, for manifest and segment timestamps only (never in compacted bytes). */
  readonly nowUs: () => number;
  /** Steps 4 and 5 of the checkpoint protocol: the Kafka offset commit, then the Redis watermark. */
  readonly publication: CheckpointPublication;
  readonly settings: PartitionSettings;
}

const CLAIM_ATTEMPTS = 3;
const TOO_OLD_LOG_INTERVAL_MS = 10_000;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * An owned partition: its metrics' in-memory state, and the checkpoint protocol over its manifest.
 * Apply mutates memory synchronously; a checkpoint takes what changed synchronously (so applying
 * goes on while it is written) and then, in order with other manifest writers of this partition,
 * writes the segment, the manifest (the commit point, by compare-and-set), commits the Kafka
 * offset and publishes the watermark. Compaction reads only immutable segments and stored splits,
 * so it runs beside applying and takes the manifest turn only to drop what it folded.
 */
export class OwnedPartition {
  private readonly metrics = new Map<string, MetricState>();
  /** Raw points from live segments, for metrics not loaded yet (restored on first sight). */
  private readonly rawOverlay = new Map<string, Points>();
  /** Metrics of `rawOverlay` rebuilt in a live segment: their stored raw tail is void. */
  private readonly overlayReplacesStored = new Set<string>();
  /** Rebuilt metrics whose whole state the next checkpoint writes, with a reset in its manifest. */
  private readonly pendingResets = new Set<string>();
  private readonly dirty = new Set<string>();
  /** Next offset to apply; what the next checkpoint's manifest will say. */
  private nextOffset: number;
  /** Offset the latest checkpoint taken (written or in flight) stands for. */
  private checkpointedOffset: number;
  private firstPendingOffset: number | undefined;
  /** False while the latest manifest's offset is not committed and announced (steps 4–5 failed). */
  private published = true;
  private nextSeq: number;
  /** Manifest writes (checkpoints, compaction commits) in order; a failure stops the ones after. */
  private manifestTurn: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private compaction: Promise<void> | undefined;
  private releasing = false;
  private tooOldLoggedAt = Number.NEGATIVE_INFINITY;
  private tooOldSinceLog = 0;
  /** When the claim started, until the first batch is applied (then undefined). */
  private recoveringSince: bigint | undefined;

  private constructor(
    private readonly deps: PartitionDeps,
    readonly partition: number,
    private manifest: PartitionManifest,
    private version: string,
    readonly claimedAtUs: number,
  ) {
    this.nextOffset = manifest.offset;
    this.checkpointedOffset = manifest.offset;
    this.nextSeq = manifest.segments.reduce((max, segment) => Math.max(max, segment.seq + 1), 0);
  }

  /**
   * Takes ownership (a new generation in the manifest, by compare-and-set: the previous owner's
   * next manifest write fails) and loads the raw points of the live segments. Seek to `offset`.
   */
  static async claim(deps: PartitionDeps, partition: number): Promise<OwnedPartition> {
    const { store, topic } = deps;
    const started = process.hrtime.bigint();
    for (let attempt = 1; ; attempt++) {
      const current = await readManifest(store, topic, partition);
      const generation = (current?.manifest.generation ?? 0) + 1;
      try {
        const claimed = await claimPartition(store, topic, partition, generation, deps.nowUs());
        const owned = new OwnedPartition(deps, partition, claimed.manifest, claimed.version, deps.nowUs());
        owned.recoveringSince = started;
        await owned.loadLiveSegments();
        deps.logger.info(
          {
            partition,
            generation,
            offset: claimed.manifest.offset,
            segments: claimed.manifest.segments.length,
          },
          'partition claimed',
        );
        return owned;
      } catch (error) {
        // Another claimant got in between our read and our write: read again and claim over it.
        if (!storageErrors.is(error, 'STORAGE_CONFLICT') || attempt === CLAIM_ATTEMPTS) throw error;
      }
    }
  }

  get generation(): number {
    return this.manifest.generation;
  }

  /** Where consumption resumes: everything before it is in the checkpointed state. */
  get resumeOffset(): number {
    return this.manifest.offset;
  }

  get metricsInMemory(): number {
    return this.metrics.size;
  }

  get liveSegments(): readonly LiveSegment[] {
    return this.manifest.segments;
  }

  /** Offset after the last record applied. */
  get appliedOffset(): number {
    return this.nextOffset;
  }

  /** Offsets applied since the last checkpoint was taken (for the dirty-size bound). */
  get pendingOffsets(): number {
    return this.nextOffset - this.checkpointedOffset;
  }

  /** True once a manifest write lost to a newer owner, or a checkpoint failed: state is unusable. */
  get broken(): boolean {
    return this.failure !== undefined;
  }

  private async loadLiveSegments(): Promise<void> {
    const segments = await Promise.all(liveSegmentKeys(this.manifest).map((key) => this.readSegment(key)));
    for (const [metricId, folded] of foldSegments(segments, this.manifest.resets)) {
      this.rawOverlay.set(metricId, folded.raw);
      if (folded.replaces) this.overlayReplacesStored.add(metricId);
    }
  }

  private async readSegment(key: string): Promise<Segment> {
    const bytes = await this.deps.store.get(key);
    if (!bytes) throw processingErrors('PROCESSING_MISSING_SEGMENT', key);
    return decodeSegment(bytes);
  }

  /**
   * Applies records in order. Records of metrics unknown to the index, and malformed ones, are
   * returned as rejections (dead letters); measures of deleted metrics are counted and dropped.
   * `nextOffset` is the offset after the batch: the batch counts as applied from now on.
   */
  async apply(records: readonly MeasureRecord[], nextOffset: number): Promise<Rejection[]> {
    this.throwIfBroken();
    await this.loadUnseen(records);
    const { instruments, faults } = this.deps;
    const rejections: Rejection[] = [];
    let applied = 0;
    records.forEach((record, index) => {
      const entry = this.deps.policies.get(record.metricId);
      if (!entry || entry.status === 'unknown') {
        rejections.push({ index, error: processingErrors('PROCESSING_UNKNOWN_METRIC', record.metricId) });
        return;
      }
      if (entry.status === 'delete') {
        instruments.measuresDropped.inc({ reason: 'metric_deleted' }, record.timestamps.length);
        return;
      }
      const state = this.metrics.get(record.metricId) as MetricState;
      try {
        const result = state.apply(record.timestamps, record.values);
        applied += result.accepted;
        if (result.droppedTooOld > 0) this.droppedTooOld(record.metricId, result.droppedTooOld);
        if (result.accepted > 0) this.dirty.add(record.metricId);
      } catch (error) {
        // Even an uncoded error here comes from this record's values meeting the metric's state:
        // the record is dead-lettered (with the message) and the partition goes on.
        rejections.push({
          index,
          error: carbonaraErrors.is(error)
            ? processingErrors('PROCESSING_INVALID_MEASURES', error.message, { cause: error })
            : processingErrors('PROCESSING_RECORD_FAILED', errorText(error), { cause: error }),
        });
      }
      faults.hit('apply');
    });
    instruments.measuresApplied.inc(applied);
    if (this.recoveringSince !== undefined) {
      instruments.recoveryDuration.observe(Number(process.hrtime.bigint() - this.recoveringSince) / 1e9);
      this.recoveringSince = undefined;
    }
    if (records.length > 0) this.firstPendingOffset ??= (records[0] as MeasureRecord).offset;
    this.nextOffset = nextOffset;
    return rejections;
  }

  /**
   * Too-old points are counted without a label (one series per metric would be unbounded) and
   * logged with their metric id at most once per TOO_OLD_LOG_INTERVAL_MS per partition, with what
   * was dropped since the previous line.
   */
  private droppedTooOld(metricId: string, points: number): void {
    this.deps.instruments.droppedTooOld(points);
    this.tooOldSinceLog += points;
    const now = Date.now();
    if (now - this.tooOldLoggedAt < TOO_OLD_LOG_INTERVAL_MS) return;
    this.deps.logger.warn(
      { partition: this.partition, metricId, points, pointsSinceLastLine: this.tooOldSinceLog },
      "points older than the metric's back window dropped",
    );
    this.tooOldLoggedAt = now;
    this.tooOldSinceLog = 0;
  }

  /** Policies and stored raw tails of the batch's metrics not in memory yet. */
  private async loadUnseen(records: readonly MeasureRecord[]): Promise<void> {
    const unseen = new Set<string>();
    for (const record of records) if (!this.metrics.has(record.metricId)) unseen.add(record.metricId);
    if (unseen.size === 0) return;
    const { policies, store, settings, logger } = this.deps;
    await policies.resolve(unseen);
    const active = [...unseen].filter((id) => policies.get(id)?.status === 'active');
    const onCorrupt = (key: string, error: Error) =>
      logger.warn({ key, err: error }, 'stored raw tail is corrupt; reading it as empty, as Gnocchi does');
    await forEachConcurrently(active, settings.loadConcurrency, async (metricId) => {
      const entry = policies.get(metricId);
      if (entry?.status !== 'active') return;
      const stored = this.overlayReplacesStored.has(metricId)
        ? undefined
        : await readRawTail(store, metricId, onCorrupt);
      // A rebuild may have put the metric in memory while its stored tail was being read.
      if (this.metrics.has(metricId)) return;
      const overlay = this.rawOverlay.get(metricId);
      const rawTail = stored && overlay ? mergePoints(stored, overlay) : (overlay ?? stored);
      this.metrics.set(metricId, new MetricState(metricId, entry.compiled, rawTail));
      this.rawOverlay.delete(metricId);
      this.overlayReplacesStored.delete(metricId);
    });
  }

  /**
   * Checkpoints what was applied so far. Resolves once the manifest is written and the offset
   * committed; rejects with PROCESSING_PARTITION_LOST when a newer owner fenced us, or with the
   * storage error, after which this partition is `broken` and must be dropped and claimed again.
   */
  checkpoint(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.dirty.size === 0 && this.nextOffset === this.checkpointedOffset) {
      return this.published ? this.manifestTurn : this.inManifestTurn(() => this.publishAgain());
    }
    const deltas: MetricDelta[] = [];
    for (const metricId of this.dirty) {
      const state = this.metrics.get(metricId) as MetricState;
      const delta = state.takeDelta();
      if (delta) deltas.push(delta);
    }
    this.dirty.clear();
    const resetMetrics = [...this.pendingResets];
    this.pendingResets.clear();
    const offset = this.nextOffset;
    const firstOffset = this.firstPendingOffset ?? offset;
    this.firstPendingOffset = undefined;
    this.checkpointedOffset = offset;
    const segment: LiveSegment | undefined =
      deltas.length > 0
        ? { seq: this.nextSeq++, generation: this.generation, firstOffset, lastOffset: offset - 1 }
        : undefined;
    const bytes =
      segment &&
      encodeSegment({
        topic: this.deps.topic,
        partition: this.partition,
        ...segment,
        createdAtUs: this.deps.nowUs(),
        metrics: deltas,
      });
    return this.inManifestTurn(async () => {
      const started = process.hrtime.bigint();
      const { store, topic, faults } = this.deps;
      if (segment && bytes) {
        const written = store.put(segmentKey(topic, this.partition, segment), bytes);
        faults.hit('segment-write');
        await written;
        faults.hit('after-segment');
      }
      await this.commitManifest({
        ...this.manifest,
        offset,
        segments: segment ? [...this.manifest.segments, segment] : this.manifest.segments,
        resets: segment ? withResets(this.manifest.resets, resetMetrics, segment.seq) : this.manifest.resets,
      });
      faults.hit('after-manifest');
      this.published = await this.deps.publication.publish(this.partition, offset);
      this.deps.instruments.checkpointDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    });
  }

  /** Steps 4–5 for the manifest's offset, unless a checkpoint queued meanwhile published it. */
  private async publishAgain(): Promise<void> {
    if (!this.published)
      this.published = await this.deps.publication.publish(this.partition, this.manifest.offset);
  }

  /**
   * Folds up to `compactionMaxSegments` of the oldest live segments into the Gnocchi layout, then
   * drops them from the manifest and deletes them (with any segment no manifest names: leftovers
   * of crashed or fenced writers). One compaction at a time; a second call joins the running one.
   */
  compact(): Promise<void> {
    this.compaction ??= this.runCompaction().finally(() => {
      this.compaction = undefined;
    });
    return this.compaction;
  }

  private async runCompaction(): Promise<void> {
    const folding = this.manifest.segments.slice(0, this.deps.settings.compactionMaxSegments);
    if (folding.length === 0 || this.failure) return;
    const started = process.hrtime.bigint();
    const { store, topic, policies, settings, logger, faults } = this.deps;
    const segments = await Promise.all(
      folding.map((segment) => this.readSegment(segmentKey(topic, this.partition, segment))),
    );
    const folded = foldSegments(segments, this.manifest.resets);
    await policies.resolve(folded.keys());
    const hooks = {
      onCorrupt: (key: string, error: Error) =>
        logger.warn({ key, err: error }, 'stored object is corrupt; reading it as empty, as Gnocchi does'),
      afterWrite: () => faults.hit('compaction'),
    };
    await forEachConcurrently([...folded], settings.compactionConcurrency, async ([metricId, changes]) => {
      // A partition being released or lost stops writing splits: its next owner folds them again.
      if (this.releasing || this.failure)
        throw processingErrors('PROCESSING_NOT_OWNED', `${topic}/${this.partition}`);
      const entry = policies.get(metricId);
      if (entry?.status === 'active') await compactMetric(store, metricId, changes, entry.compiled, hooks);
    });
    const foldedKeys = new Set(folding.map((segment) => segmentKey(topic, this.partition, segment)));
    const foldedSeqs = new Set(folding.map((segment) => segment.seq));
    await this.inManifestTurn(async () => {
      await this.commitManifest({
        ...this.manifest,
        segments: this.manifest.segments.filter(
          (segment) => !foldedKeys.has(segmentKey(topic, this.partition, segment)),
        ),
        // A folded reset is done: the metric's objects were replaced by its rebuilt state.
        resets: this.manifest.resets?.filter((reset) => !foldedSeqs.has(reset.seq)),
      });
      // Under the manifest turn no checkpoint of ours is half-written, so every segment the
      // manifest does not name is garbage: folded just now, or left by a crashed or fenced writer.
      const live = new Set(liveSegmentKeys(this.manifest));
      const stored = await store.list(checkpointPrefix(topic, this.partition));
      const garbage = stored.filter(
        (key) => parseSegmentKey(topic, this.partition, key) !== undefined && !live.has(key),
      );
      await store.delete(garbage);
    });
    this.deps.instruments.compactionDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }

  /** Last checkpoint before the partition goes: stops compaction and writes what is pending. */
  async release(): Promise<void> {
    this.releasing = true;
    await this.compaction?.catch(() => {});
    if (!this.failure) await this.checkpoint();
  }

  /** Drops a deleted metric's in-memory state (the janitor deletes its objects). */
  forgetMetric(metricId: string): void {
    this.metrics.delete(metricId);
    this.rawOverlay.delete(metricId);
    this.overlayReplacesStored.delete(metricId);
    this.pendingResets.delete(metricId);
    this.dirty.delete(metricId);
  }

  /**
   * `granary rebuild`: recomputes a metric from the partition's records at `fromOffset` on, with
   * its archive policy looked up again, and makes that its whole state. Records are read (by
   * `readRecords`, in offset order) up to what this partition has applied, again until caught up
   * while batches keep being applied; then, between two batches, the new state takes the old
   * one's place and a checkpoint writes it with a reset in the manifest (see `MetricReset`).
   * Resolves once that checkpoint is committed, with the number of the metric's records read.
   */
  async rebuild(
    metricId: string,
    fromOffset: number,
    readRecords: (from: number, to: number, onRecords: (records: MeasureRecord[]) => void) => Promise<void>,
  ): Promise<{ records: number; offset: number }> {
    this.throwIfBroken();
    // A segment names the offsets it covers; with none applied there is nothing to rebuild from.
    if (this.nextOffset === 0)
      throw processingErrors('PROCESSING_NOTHING_APPLIED', `${this.deps.topic}/${this.partition}`);
    const entry = await this.deps.policies.refresh(metricId);
    if (entry.status !== 'active') throw processingErrors('PROCESSING_UNKNOWN_METRIC', metricId);
    const state = new MetricState(metricId, entry.compiled);
    let records = 0;
    const applyRecords = (batch: MeasureRecord[]) => {
      for (const record of batch) {
        if (record.metricId !== metricId) continue;
        records++;
        try {
          state.apply(record.timestamps, record.values);
        } catch (error) {
          // Dead-lettered when it was first processed; skipped again here.
          if (!carbonaraErrors.is(error)) throw error;
        }
      }
    };
    for (let readUpTo = fromOffset; readUpTo < this.nextOffset; ) {
      const until = this.nextOffset;
      await readRecords(readUpTo, until, applyRecords);
      readUpTo = until;
    }
    this.throwIfBroken();
    if (this.releasing)
      throw processingErrors('PROCESSING_NOT_OWNED', `${this.deps.topic}/${this.partition}`);
    state.markWholeStateChanged();
    this.metrics.set(metricId, state);
    this.rawOverlay.delete(metricId);
    this.overlayReplacesStored.delete(metricId);
    this.dirty.add(metricId);
    this.pendingResets.add(metricId);
    // The next segment stands for the records the rebuilt state comes from, even if none is new.
    const coveredFrom = Math.min(fromOffset, this.nextOffset - 1);
    this.firstPendingOffset = Math.min(this.firstPendingOffset ?? coveredFrom, coveredFrom);
    const offset = this.nextOffset;
    await this.checkpoint();
    return { records, offset };
  }

  private async commitManifest(next: Omit<PartitionManifest, 'updatedAtUs'>): Promise<void> {
    const manifest = { ...next, updatedAtUs: this.deps.nowUs() };
    try {
      this.version = await writeManifest(this.deps.store, manifest, this.version);
    } catch (error) {
      if (!storageErrors.is(error, 'STORAGE_CONFLICT')) throw error;
      this.deps.instruments.fenced.inc();
      throw processingErrors('PROCESSING_PARTITION_LOST', `${this.deps.topic}/${this.partition}`, {
        cause: error,
        details: { generation: this.generation },
      });
    }
    this.manifest = manifest;
  }

  private inManifestTurn(work: () => Promise<void>): Promise<void> {
    const turn = this.manifestTurn.then(() => {
      if (this.failure) throw this.failure;
      return work().catch((error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
        throw error;
      });
    });
    // Later turns see the failure through `this.failure`; this chain itself never rejects.
    this.manifestTurn = turn.catch(() => {});
    return turn;
  }

  private throwIfBroken(): void {
    if (this.failure) throw this.failure;
  }
}

/** The manifest's resets with `metricIds` now reset at segment `seq` (a newer reset replaces an older one). */
function withResets(
  current: readonly MetricReset[] | undefined,
  metricIds: readonly string[],
  seq: number,
): readonly MetricReset[] | undefined {
  if (metricIds.length === 0) return current;
  const renewed = new Set(metricIds);
  return [
    ...(current ?? []).filter((reset) => !renewed.has(reset.metricId)),
    ...metricIds.map((metricId) => ({ metricId, seq })),
  ];
}
