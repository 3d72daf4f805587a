/** Records as Granary sees them, independent of the Kafka client library underneath. */

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** `offset` is the next offset to read (Kafka's committed-offset convention), as int64 text. */
export interface TopicPartitionOffset extends TopicPartition {
  offset: string;
}

export interface OutgoingRecord {
  topic: string;
  key: string | Buffer | null;
  value: Buffer | null;
  headers?: Record<string, string | Buffer>;
  /** Explicit partition; without it keyed records go by Java murmur2, keyless ones round robin. */
  partition?: number;
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  /** Offset of this record, int64 text. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
  /** Record timestamp, epoch milliseconds text (Kafka's resolution). */
  timestamp: string;
}

/** Consecutive records of one partition, in offset order. */
export interface RecordBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
  /** Partition end offset when fetched: how far behind this batch is. */
  highWatermark: string;
}

/** The offset after `offset`: what to commit once the record at `offset` is done. */
export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}
