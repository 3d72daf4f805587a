import { randomUUID } from 'node:crypto';
import { infra } from '@granary/testing/infra';
import {
  BatchingProducer,
  type ConsumedRecord,
  type KafkaClient,
  type TopicSpec,
  createKafkaClient,
  provisionTopics,
} from '../index.ts';

export const uniqueName = (name: string) => `test.${name}.${randomUUID().slice(0, 8)}`;

export function testKafka(): KafkaClient {
  return createKafkaClient({ brokers: infra().kafkaBrokers, clientId: 'granary-kafka-tests' });
}

export function topicSpec(name: string, partitions: number): TopicSpec {
  return { name, partitions, replicationFactor: 1, retentionMs: 3_600_000, cleanupPolicy: 'delete' };
}

const createdTopics = new Set<string>();

export async function createTopics(kafka: KafkaClient, ...specs: TopicSpec[]): Promise<void> {
  const admin = kafka.createAdmin();
  await admin.connect();
  try {
    await provisionTopics(admin, specs);
    for (const spec of specs) createdTopics.add(spec.name);
  } finally {
    await admin.disconnect();
  }
}

/** Delete the topics `createTopics` made, so test runs do not pile up topics on a shared broker. */
export async function deleteCreatedTopics(kafka: KafkaClient): Promise<void> {
  if (createdTopics.size === 0) return;
  const admin = kafka.createAdmin();
  await admin.connect();
  try {
    await admin.deleteTopics([...createdTopics]);
    createdTopics.clear();
  } finally {
    await admin.disconnect();
  }
}

export async function connectedProducer(kafka: KafkaClient): Promise<BatchingProducer> {
  const producer = new BatchingProducer(kafka.createSender());
  await producer.connect();
  return producer;
}

/** Wait for `condition`, polling; a test that never gets there fails on its own timeout. */
export async function eventually(condition: () => boolean | Promise<boolean>, pollMs = 50): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, pollMs));
}

/** Every record of `topic` from the beginning, once `count` have arrived (a throwaway group). */
export async function readTopic(kafka: KafkaClient, topic: string, count: number): Promise<ConsumedRecord[]> {
  const records: ConsumedRecord[] = [];
  const consumer = kafka.createConsumer({ groupId: uniqueName('reader'), topics: [topic] });
  const running = consumer.run(async (batch) => {
    records.push(...batch.records);
  });
  await eventually(() => records.length >= count);
  await consumer.stop();
  await running;
  return records;
}
