import type { Index } from '@granary/index';
import {
  DEAD_LETTER_HEADERS,
  type OutgoingRecord,
  type PartitionRange,
  type RangeReader,
} from '@granary/kafka';
import type { Logger } from '@granary/observability';
import {
  NO_FAULTS,
  NO_PUBLICATION,
  PolicyCache,
  ProcessingInstruments,
  Processor,
  indexMetricDirectory,
} from '@granary/processing';
import type { DecodeOutcome, MeasureBatch } from '@granary/schema';
import type { ObjectStore } from '@granary/storage';
import { cliErrors } from './errors.ts';
import type { Progress } from './progress.ts';

/** Processor settings for a replay: one pass, checkpointed and compacted at the end. */
const REPLAY_SETTINGS = {
  loadConcurrency: 32,
  compactionConcurrency: 8,
  compactionMaxSegments: 64,
  /** Checkpoint every so many offsets, so a long range does not hold everything in memory. */
  maxPendingOffsets: 50_000,
  compactionMinSegments: 1,
  compactionGraceMs: 0,
};

export interface ReplayDeps {
  reader: RangeReader;
  /** Where the recomputed state goes: a storage prefix of its own, never the live one. */
  store: ObjectStore;
  index: Index;
  decode: (values: readonly Buffer[]) => Promise<Array<DecodeOutcome<MeasureBatch>>>;
  logger: Logger;
}

export interface ReplayReport {
  topic: string;
  partitions: number[];
  records: number;
  /** Records the processor would dead-letter, by error code; they were dead-lettered when first processed, so not again. */
  rejected: Record<string, number>;
}

/**
 * Recompute the aggregates of `ranges` of the measures topic into `deps.store` with the
 * processor's own code: claim each partition there, apply the records in offset order, checkpoint,
 * then compact every segment into Gnocchi splits. The bytes depend only on the records and the
 * archive policies, so replaying the same range into a fresh prefix gives the same splits, and
 * replaying it again over them changes nothing.
 */
export async function replayIntoStore(
  deps: ReplayDeps,
  topic: string,
  ranges: readonly PartitionRange[],
  progress: Progress,
): Promise<ReplayReport> {
  const rejected: Record<string, number> = {};
  const countRejections = async (letters: readonly OutgoingRecord[]) => {
    for (const letter of letters) {
      const code = String(letter.headers?.[DEAD_LETTER_HEADERS.errorCode] ?? 'UNKNOWN');
      rejected[code] = (rejected[code] ?? 0) + 1;
    }
  };
  const processor = new Processor({
    store: deps.store,
    topic,
    policies: new PolicyCache(indexMetricDirectory(deps.index.metrics)),
    instruments: new ProcessingInstruments(),
    faults: NO_FAULTS,
    logger: deps.logger,
    nowUs: () => Date.now() * 1000,
    settings: REPLAY_SETTINGS,
    decode: deps.decode,
    deadLetters: { send: countRejections },
    deadLetterTopic: `${topic}.dlq`,
    // The replay reads exactly its ranges; there is no consumer to move and no offset to commit.
    seek: () => {},
    rangeReader: deps.reader,
    publication: NO_PUBLICATION,
  });
  const partitions = ranges.filter((r) => BigInt(r.start) < BigInt(r.end)).map((r) => r.partition);
  const ends = new Map(ranges.map((r) => [r.partition, r.end]));
  let records = 0;
  await processor.assign(partitions);
  try {
    await deps.reader.readRanges(topic, ranges, async (batch) => {
      const partition = batch[0]!.partition;
      await processor.handleBatch({ topic, partition, records: batch, highWatermark: ends.get(partition)! });
      records += batch.length;
      progress.advance(batch.length);
      return undefined;
    });
    await processor.checkpointAll();
    await processor.compactAll();
    // The processor recovers from a failed checkpoint by claiming the partition again (and logs
    // it); in a one-pass replay that means records are missing, so it is a failure here.
    const lost = partitions.filter(
      (p) => processor.partition(p) === undefined || processor.partition(p)!.broken,
    );
    if (lost.length > 0)
      throw cliErrors('CLI_REPLAY_INCOMPLETE', `partitions ${lost.join(', ')}; see the log above`);
  } finally {
    await processor.stop();
  }
  progress.done();
  return { topic, partitions, records, rejected };
}
