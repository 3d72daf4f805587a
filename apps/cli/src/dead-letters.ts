import {
  type ConsumedRecord,
  DEAD_LETTER_HEADERS,
  type DeadLetterInfo,
  type OutgoingRecord,
  type PartitionRange,
  type RangeReader,
  readDeadLetter,
} from '@granary/kafka';
import { type DumpedRecord, type ValueDecoder, toDumpedRecord } from './dump.ts';
import { cliErrors } from './errors.ts';
import type { Progress } from './progress.ts';

const DEAD_LETTER_HEADER_NAMES: ReadonlySet<string> = new Set(Object.values(DEAD_LETTER_HEADERS));

export interface DeadLetterFilter {
  keys?: readonly string[];
  errorCodes?: readonly string[];
}

function matches(
  record: ConsumedRecord,
  letter: DeadLetterInfo | undefined,
  filter: DeadLetterFilter,
): boolean {
  const key = record.key?.toString('utf8');
  if (filter.keys?.length && (key === undefined || !filter.keys.includes(key))) return false;
  if (filter.errorCodes?.length && (letter === undefined || !filter.errorCodes.includes(letter.errorCode)))
    return false;
  return true;
}

/** A dead letter as `dlq show` prints it: the record (value decoded) and why and where it failed. */
export type ShownDeadLetter = DumpedRecord & { deadLetter: DeadLetterInfo | null };

export async function showDeadLetters(
  reader: RangeReader,
  topic: string,
  ranges: readonly PartitionRange[],
  decoder: ValueDecoder,
  filter: DeadLetterFilter,
  emit: (letter: ShownDeadLetter) => void,
): Promise<{ byErrorCode: Record<string, number> }> {
  const byErrorCode: Record<string, number> = {};
  await reader.readRanges(topic, ranges, async (records) => {
    for (const record of records) {
      const letter = readDeadLetter(record);
      if (!matches(record, letter, filter)) continue;
      const code = letter?.errorCode ?? '(not a dead letter)';
      byErrorCode[code] = (byErrorCode[code] ?? 0) + 1;
      emit({ ...(await toDumpedRecord(record, decoder)), deadLetter: letter ?? null });
    }
    return undefined;
  });
  return { byErrorCode };
}

/**
 * The record to send back for dead letter `record`: its original key and bytes and its own headers
 * (without the dead-letter ones), to its source topic or `targetTopic`. Keyed records are routed
 * by their key again, so they land where the original did; keyless ones go to the source partition.
 */
export function redriveRecordFor(record: ConsumedRecord, targetTopic?: string): OutgoingRecord {
  const letter = readDeadLetter(record);
  if (!letter && !targetTopic) {
    throw cliErrors(
      'CLI_NOT_A_DEAD_LETTER',
      `${record.topic}[${record.partition}]@${record.offset}; name a target with --to`,
    );
  }
  const headers = Object.fromEntries(
    Object.entries(record.headers).filter(([name]) => !DEAD_LETTER_HEADER_NAMES.has(name)),
  );
  const keyless = record.key === null && letter !== undefined && targetTopic === undefined;
  return {
    topic: targetTopic ?? letter!.sourceTopic,
    key: record.key,
    value: record.value,
    headers,
    ...(keyless ? { partition: letter.sourcePartition } : {}),
  };
}

export interface RedrivenLetter {
  from: { topic: string; partition: number; offset: string };
  to: string;
  key: string | null;
  errorCode: string | null;
}

/**
 * Send the dead letters of `ranges` that pass `filter` back to their source topics, each chunk
 * acknowledged before the next is read. Under `dryRun` nothing is sent.
 */
export async function redriveDeadLetters(
  reader: RangeReader,
  sender: { send(records: readonly OutgoingRecord[]): Promise<void> },
  topic: string,
  ranges: readonly PartitionRange[],
  filter: DeadLetterFilter,
  options: { targetTopic?: string; dryRun: boolean },
  progress: Progress,
): Promise<RedrivenLetter[]> {
  const redriven: RedrivenLetter[] = [];
  await reader.readRanges(topic, ranges, async (records) => {
    const chosen = records.filter((record) => matches(record, readDeadLetter(record), filter));
    const outgoing = chosen.map((record) => redriveRecordFor(record, options.targetTopic));
    if (!options.dryRun && outgoing.length > 0) await sender.send(outgoing);
    chosen.forEach((record, i) =>
      redriven.push({
        from: { topic: record.topic, partition: record.partition, offset: record.offset },
        to: outgoing[i]!.topic,
        key: record.key?.toString('utf8') ?? null,
        errorCode: readDeadLetter(record)?.errorCode ?? null,
      }),
    );
    progress.advance(records.length);
    return undefined;
  });
  progress.done();
  return redriven;
}
