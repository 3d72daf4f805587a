import { CompressionTypes, type Kafka, type Message, type Producer } from 'kafkajs';
import { partitionFor } from '../murmur2.ts';
import type { RecordSender } from '../ports.ts';
import type { OutgoingRecord } from '../records.ts';
import { translated } from './errors.ts';

/** acks=all: a record counts as sent once every in-sync replica has it. */
const ACKS_ALL = -1;

/**
 * Idempotent kafkajs producer (the broker drops duplicates of a retried request) whose partitioner
 * is Granary's own `partitionFor`, the function the readers of a metric use too.
 */
export class KafkajsSender implements RecordSender {
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    private readonly compression: CompressionTypes = CompressionTypes.None,
  ) {
    this.producer = kafka.producer({ idempotent: true, createPartitioner: javaCompatiblePartitioner });
  }

  connect(): Promise<void> {
    return translated('connect producer', () => this.producer.connect());
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  async send(records: readonly OutgoingRecord[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const record of records) {
      let messages = byTopic.get(record.topic);
      if (!messages) {
        messages = [];
        byTopic.set(record.topic, messages);
      }
      messages.push({
        key: record.key,
        value: record.value,
        headers: record.headers,
        partition: record.partition,
      });
    }
    await translated('produce', () =>
      this.producer.sendBatch({
        acks: ACKS_ALL,
        compression: this.compression,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      }),
    );
  }
}

/** Keyed records by murmur2 over all partitions (as Java); keyless ones round robin. */
function javaCompatiblePartitioner() {
  let next = 0;
  return ({ partitionMetadata, message }: { partitionMetadata: unknown[]; message: Message }): number => {
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    const count = partitionMetadata.length;
    if (message.key === null || message.key === undefined) return next++ % count;
    return partitionFor(message.key, count);
  };
}
