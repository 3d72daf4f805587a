import type { OutgoingRecord, RangeReader, RecordBatch } from '@granary/kafka';
import { lagAfter, toDeadLetter } from '@granary/kafka';
import type { DecodeOutcome, MeasureBatch } from '@granary/schema';
import { startEachYielding } from './concurrency.ts';
import { processingErrors } from './errors.ts';
import {
  type MeasureRecord,
  OwnedPartition,
  type PartitionDeps,
  type PartitionSettings,
} from './partition.ts';

export interface ProcessorSettings extends PartitionSettings {
  /** A partition with this many offsets applied since its last checkpoint is checkpointed at once. */
  readonly maxPendingOffsets: number;
  /** A partition is compacted when it has at least this many live segments… */
  readonly compactionMinSegments: number;
  /** …and not before this long after it was claimed, so a previous owner still finishing a
   * compaction cannot write splits under ours (see docs/adr/0010-processor-fencing.md). */
  readonly compactionGraceMs: number;
}

export interface ProcessorDeps extends Omit<PartitionDeps, 'settings'> {
  readonly settings: ProcessorSettings;
  /** Decodes record values (TopicSerde.decodeAll). */
  readonly decode: (values: readonly Buffer[]) => Promise<Array<DecodeOutcome<MeasureBatch>>>;
  readonly deadLetters: { send(records: readonly OutgoingRecord[]): Promise<void> };
  readonly deadLetterTopic: string;
  /** Continue consuming `partition` at `offset` (BatchConsumer.seek). */
  readonly seek: (partition: number, offset: number) => void;
  /** Reads past records of the topic again, outside the group; without it, rebuilds are refused. */
  readonly rangeReader?: RangeReader;
}

const EMPTY = Buffer.alloc(0);

/**
 * The partitions this process owns and what drives them: batches from Kafka, checkpoints (timer,
 * dirty bound, refresh requests, release), compaction, and recovery of a partition whose
 * checkpoint failed (claimed again from its manifest, replayed from its offset).
 */
export class Processor {
  private readonly owned = new Map<number, OwnedPartition>();
  /** Refresh requests waiting for the partition to reach an offset before checkpointing. */
  private readonly refreshTargets = new Map<number, number>();

  constructor(private readonly deps: ProcessorDeps) {}

  get partitions(): readonly number[] {
    return [...this.owned.keys()];
  }

  get metricsInMemory(): number {
    let total = 0;
    for (const owned of this.owned.values()) total += owned.metricsInMemory;
    return total;
  }

  partition(partition: number): OwnedPartition | undefined {
    return this.owned.get(partition);
  }

  /** Claims each partition, loads its live segments and seeks to its manifest offset. */
  async assign(partitions: readonly number[]): Promise<void> {
    await Promise.all(partitions.map((partition) => this.claim(partition)));
  }

  private async claim(partition: number): Promise<void> {
    const owned = await OwnedPartition.claim(this.deps, partition);
    this.owned.set(partition, owned);
    this.deps.seek(partition, owned.resumeOffset);
  }

  /** Checkpoints the partitions and forgets them. A partition already fenced is just forgotten. */
  async revoke(partitions: readonly number[]): Promise<void> {
    await startEachYielding(partitions, async (partition) => {
      const owned = this.owned.get(partition);
      this.owned.delete(partition);
      this.refreshTargets.delete(partition);
      if (!owned) return;
      try {
        await owned.release();
      } catch (error) {
        this.logFailure(partition, error, 'last checkpoint of a released partition failed');
      }
    });
  }

  /** The Kafka batch handler: decode, dead-letter what cannot be used, apply, checkpoint if due. */
  async handleBatch(batch: RecordBatch): Promise<void> {
    const owned = this.owned.get(batch.partition);
    // Not ours (any more): leave the records uncommitted for the owner.
    if (!owned || owned.broken || batch.records.length === 0) return;
    const { instruments } = this.deps;
    const outcomes = await this.deps.decode(batch.records.map((record) => record.value ?? EMPTY));
    const letters: OutgoingRecord[] = [];
    const records: MeasureRecord[] = [];
    const sources: number[] = [];
    outcomes.forEach((outcome, index) => {
      const source = batch.records[index] as (typeof batch.records)[number];
      if (!outcome.ok) {
        letters.push(toDeadLetter(source, outcome.error, this.deps.deadLetterTopic));
        instruments.deadLettered(outcome.error.code);
        return;
      }
      const { metric_id, timestamps, values } = outcome.value;
      records.push({ offset: Number(source.offset), metricId: metric_id, timestamps, values });
      sources.push(index);
    });
    const last = batch.records[batch.records.length - 1] as (typeof batch.records)[number];
    const nextOffset = Number(last.offset) + 1;
    const rejections = await owned.apply(records, nextOffset);
    for (const { index, error } of rejections) {
      const source = batch.records[sources[index] as number] as (typeof batch.records)[number];
      letters.push(toDeadLetter(source, error, this.deps.deadLetterTopic));
      instruments.deadLettered(processingErrors.is(error) ? error.code : 'UNKNOWN');
    }
    // Acknowledged before any checkpoint can cover these offsets, so no record is lost.
    await this.deps.deadLetters.send(letters);
    instruments.consumerLag.set({ partition: String(batch.partition) }, lagAfter(batch));
    instruments.metricsInMemory.set(this.metricsInMemory);

    const target = this.refreshTargets.get(batch.partition);
    const refreshDue = target !== undefined && nextOffset >= target;
    if (refreshDue) this.refreshTargets.delete(batch.partition);
    if (refreshDue || owned.pendingOffsets >= this.deps.settings.maxPendingOffsets) {
      await this.checkpoint(batch.partition);
    }
  }

  /** Checkpoints every owned partition (the timer, SIGTERM). */
  async checkpointAll(): Promise<void> {
    await startEachYielding(this.partitions, (partition) => this.checkpoint(partition));
  }

  /**
   * Checkpoints one partition. A failure is handled here: a fenced partition is dropped (its new
   * owner has it); any other failure drops the in-memory state and claims the partition again
   * from its manifest, so nothing applied since the last good checkpoint is lost, only replayed.
   */
  async checkpoint(partition: number): Promise<void> {
    const owned = this.owned.get(partition);
    if (!owned) return;
    try {
      await owned.checkpoint();
    } catch (error) {
      await this.recover(partition, owned, error);
    }
  }

  /**
   * A refresh request (Redis): checkpoint as soon as the partition has applied up to `offset`
   * (now when it already has, or when no offset is given). Not owned here: ignored.
   */
  async refresh(partition: number, offset?: number): Promise<void> {
    const owned = this.owned.get(partition);
    if (!owned) return;
    if (offset !== undefined && owned.appliedOffset < offset) {
      this.refreshTargets.set(partition, Math.max(offset, this.refreshTargets.get(partition) ?? 0));
      return;
    }
    await this.checkpoint(partition);
  }

  /** Compacts every owned partition whose segment chain is long enough and that was claimed long enough ago. */
  async compactDue(): Promise<void> {
    const nowUs = this.deps.nowUs();
    const { compactionMinSegments, compactionGraceMs } = this.deps.settings;
    for (const [partition, owned] of this.owned) {
      if (owned.liveSegments.length < compactionMinSegments) continue;
      if (nowUs - owned.claimedAtUs < compactionGraceMs * 1000) continue;
      try {
        await owned.compact();
      } catch (error) {
        if (processingErrors.is(error, 'PROCESSING_NOT_OWNED')) continue;
        if (owned.broken) await this.recover(partition, owned, error);
        // Segments stay live, so a failed compaction loses nothing; the next one tries again.
        else this.logFailure(partition, error, 'compaction failed; segments stay live');
      }
    }
  }

  /** Compacts every live segment of every owned partition, ignoring the grace period (tests, tools). */
  async compactAll(): Promise<void> {
    for (const owned of this.owned.values()) {
      while (owned.liveSegments.length > 0) await owned.compact();
    }
  }

  /**
   * `granary rebuild` of one metric of `partition` from `fromOffset` (see OwnedPartition.rebuild).
   * Undefined when the partition is not owned here. A failure that broke the partition's state
   * recovers it as a failed checkpoint does, and is rethrown for the requester.
   */
  async rebuild(
    partition: number,
    metricId: string,
    fromOffset: number,
  ): Promise<{ records: number; offset: number } | undefined> {
    const owned = this.owned.get(partition);
    if (!owned) return undefined;
    try {
      return await owned.rebuild(metricId, fromOffset, (from, to, onRecords) =>
        this.readMeasures(partition, metricId, from, to, onRecords),
      );
    } catch (error) {
      if (owned.broken) await this.recover(partition, owned, error);
      throw error;
    }
  }

  /** The metric's decodable records of `partition` in [from, to), read again from Kafka. */
  private async readMeasures(
    partition: number,
    metricId: string,
    from: number,
    to: number,
    onRecords: (records: MeasureRecord[]) => void,
  ): Promise<void> {
    const { rangeReader } = this.deps;
    if (!rangeReader)
      throw processingErrors('PROCESSING_REBUILD_UNAVAILABLE', `${this.deps.topic}/${partition}`);
    const range = { partition, start: String(from), end: String(to) };
    await rangeReader.readRanges(this.deps.topic, [range], async (consumed) => {
      // Records are keyed by metric id: only the metric's own are worth decoding.
      const ofMetric = consumed.filter((record) => record.key?.toString() === metricId);
      const outcomes = await this.deps.decode(ofMetric.map((record) => record.value ?? EMPTY));
      const records: MeasureRecord[] = [];
      outcomes.forEach((outcome, index) => {
        if (!outcome.ok || outcome.value.metric_id !== metricId) return;
        const { timestamps, values } = outcome.value;
        records.push({ offset: Number(ofMetric[index]!.offset), metricId, timestamps, values });
      });
      onRecords(records);
      return undefined;
    });
  }

  /** Janitor hook: a deleted metric loses its in-memory state in whichever partition has it. */
  forgetMetric(partition: number, metricId: string): void {
    this.owned.get(partition)?.forgetMetric(metricId);
  }

  /** SIGTERM: checkpoint everything and let go of every partition. */
  async stop(): Promise<void> {
    await this.revoke(this.partitions);
  }

  private async recover(partition: number, owned: OwnedPartition, error: unknown): Promise<void> {
    if (this.owned.get(partition) !== owned) return;
    this.owned.delete(partition);
    if (processingErrors.is(error, 'PROCESSING_PARTITION_LOST')) {
      this.deps.logger.warn(
        { partition, generation: owned.generation },
        'partition fenced by a newer owner; dropped',
      );
      return;
    }
    this.logFailure(partition, error, 'checkpoint failed; claiming the partition again from its manifest');
    await this.claim(partition);
  }

  private logFailure(partition: number, error: unknown, message: string): void {
    this.deps.logger.error({ partition, err: error }, message);
  }
}
