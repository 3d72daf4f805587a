import type { ConsumedRecord, PartitionRange, RangeReader } from '@granary/kafka';
import { schemaErrors } from '@granary/schema';
import type { Progress } from './progress.ts';

/** One line of `granary dump`: where the record is, its key and headers as text, its decoded value. */
export interface DumpedRecord {
  topic: string;
  partition: number;
  offset: string;
  /** Kafka record timestamp, ISO 8601 (millisecond resolution). */
  timestamp: string;
  key: string | null;
  headers: Record<string, string>;
  /** The Avro value as written (null for a tombstone or an undecodable value). */
  value: unknown;
  /** Why the value could not be decoded; the bytes are then in `valueBase64`. */
  error?: { code: string; message: string };
  valueBase64?: string;
}

export interface ValueDecoder {
  decode(bytes: Buffer): Promise<unknown>;
}

export async function toDumpedRecord(record: ConsumedRecord, decoder: ValueDecoder): Promise<DumpedRecord> {
  const dumped: DumpedRecord = {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: new Date(Number(record.timestamp)).toISOString(),
    key: record.key?.toString('utf8') ?? null,
    headers: Object.fromEntries(
      Object.entries(record.headers).map(([name, value]) => [name, value.toString('utf8')]),
    ),
    value: null,
  };
  if (record.value === null) return dumped;
  try {
    dumped.value = await decoder.decode(record.value);
  } catch (error) {
    // A record that cannot be read is what one dumps a topic to find: show it, keep going. A
    // registry that does not know the record's schema id is shown the same way (the consumers hold
    // their partition on it; the dump is how an operator sees which ids); an unreachable registry
    // ends the dump.
    const perRecord =
      schemaErrors.is(error) && (!error.retriable || error.code === 'SCHEMA_REGISTRY_MISMATCH');
    if (!perRecord) throw error;
    dumped.error = { code: error.code, message: error.message };
    dumped.valueBase64 = record.value.toString('base64');
  }
  return dumped;
}

export interface DumpFilter {
  /** Only records with one of these keys (compared as UTF-8 text). */
  keys?: readonly string[];
  /** Stop after this many records were written. */
  limit?: number;
}

/**
 * Write every record of `ranges` that passes `filter`, decoded, to `emit`, in offset order within
 * each partition. Returns how many were written and how many of those could not be decoded.
 */
export async function dumpRecords(
  reader: RangeReader,
  topic: string,
  ranges: readonly PartitionRange[],
  decoder: ValueDecoder,
  filter: DumpFilter,
  emit: (record: DumpedRecord) => void,
  progress: Progress,
): Promise<{ written: number; undecodable: number }> {
  const keys = filter.keys?.length ? new Set(filter.keys) : undefined;
  const counts = { written: 0, undecodable: 0 };
  if (filter.limit === 0) return counts;
  await reader.readRanges(topic, ranges, async (records) => {
    for (const record of records) {
      const key = record.key?.toString('utf8');
      if (keys && (key === undefined || !keys.has(key))) continue;
      const dumped = await toDumpedRecord(record, decoder);
      emit(dumped);
      counts.written += 1;
      if (dumped.error) counts.undecodable += 1;
      if (counts.written === filter.limit) return 'stop';
    }
    progress.advance(records.length);
    return undefined;
  });
  progress.done();
  return counts;
}
