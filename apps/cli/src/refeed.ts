import type { OutgoingRecord, PartitionRange, RangeReader } from '@granary/kafka';
import type { Progress } from './progress.ts';

/**
 * Produce the records of `ranges` again onto `topic` (key, bytes and headers as they were, keyed
 * ones routed by key to the same partition, keyless ones to theirs), for the running consumers to
 * process again. The ranges were fixed before reading, so the copies are never read back.
 */
export async function refeedRecords(
  reader: RangeReader,
  sender: { send(records: readonly OutgoingRecord[]): Promise<void> },
  topic: string,
  ranges: readonly PartitionRange[],
  progress: Progress,
): Promise<{ records: number }> {
  let records = 0;
  await reader.readRanges(topic, ranges, async (batch) => {
    await sender.send(
      batch.map((record) => ({
        topic,
        key: record.key,
        value: record.value,
        headers: record.headers,
        ...(record.key === null ? { partition: record.partition } : {}),
      })),
    );
    records += batch.length;
    progress.advance(batch.length);
    return undefined;
  });
  progress.done();
  return { records };
}
