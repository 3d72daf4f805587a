import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { PartitionRange, RangeReader } from '../ports.ts';
import type { ConsumedRecord } from '../records.ts';
import { toConsumedRecord } from './consumer.ts';
import { translated } from './errors.ts';

/**
 * Reads exact offset ranges. kafkajs reads only through a consumer group, so each read joins a
 * throwaway group that never commits, seeks each partition to its start and pauses the others and
 * every partition that reached its end; the group is deleted afterwards so it is not listed.
 */
export class KafkajsRangeReader implements RangeReader {
  constructor(private readonly kafka: Kafka) {}

  async readRanges(
    topic: string,
    ranges: readonly PartitionRange[],
    onRecords: (records: ConsumedRecord[]) => Promise<'stop' | undefined>,
  ): Promise<void> {
    const pending = new Map(
      ranges.filter((r) => BigInt(r.start) < BigInt(r.end)).map((r) => [r.partition, r]),
    );
    if (pending.size === 0) return;
    const partitions = await this.partitionsOf(topic);
    const groupId = `granary-range-reader-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, allowAutoTopicCreation: false });
    await translated('connect range reader', () => consumer.connect());
    try {
      await translated(`subscribe to ${topic}`, () =>
        consumer.subscribe({ topics: [topic], fromBeginning: true }),
      );
      const finished = new Promise<void>((resolve, reject) => {
        consumer
          .run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            eachBatch: async ({ batch, heartbeat }) => {
              const range = pending.get(batch.partition);
              if (!range) return;
              const start = BigInt(range.start);
              const end = BigInt(range.end);
              const records = batch.messages
                .filter((m) => BigInt(m.offset) >= start && BigInt(m.offset) < end)
                .map((m) => toConsumedRecord(topic, batch.partition, m));
              if (records.length > 0) {
                let next: 'stop' | undefined;
                try {
                  next = await onRecords(records);
                } catch (error) {
                  // Thrown out of eachBatch, kafkajs would fetch the batch again; stop instead.
                  pending.clear();
                  reject(error);
                  return;
                }
                if (next === 'stop') {
                  pending.clear();
                  resolve();
                  return;
                }
              }
              if (BigInt(batch.lastOffset()) + 1n >= end) {
                pending.delete(batch.partition);
                consumer.pause([{ topic, partitions: [batch.partition] }]);
                if (pending.size === 0) resolve();
              }
              await heartbeat();
            },
          })
          .catch(reject);
      });
      const idle = partitions.filter((p) => !pending.has(p));
      if (idle.length > 0) consumer.pause([{ topic, partitions: idle }]);
      for (const range of pending.values())
        consumer.seek({ topic, partition: range.partition, offset: range.start });
      await translated(`read ${topic}`, () => finished);
    } finally {
      await consumer.disconnect();
    }
    await this.deleteGroup(groupId);
  }

  private async partitionsOf(topic: string): Promise<number[]> {
    const admin = this.kafka.admin();
    await translated('connect admin', () => admin.connect());
    try {
      const offsets = await translated(`fetch offsets of ${topic}`, () => admin.fetchTopicOffsets(topic));
      return offsets.map(({ partition }) => partition);
    } finally {
      await admin.disconnect();
    }
  }

  private async deleteGroup(groupId: string): Promise<void> {
    const admin = this.kafka.admin();
    await translated('connect admin', () => admin.connect());
    try {
      await translated(`delete group ${groupId}`, () => admin.deleteGroups([groupId]));
    } finally {
      await admin.disconnect();
    }
  }
}
