import { randomUUID } from 'node:crypto';
import {
  BatchingProducer,
  type OutgoingRecord,
  type TopicSpec,
  createKafkaClient,
  provisionTopics,
} from '@granary/kafka';
import type { ObjectStore } from '@granary/storage';
import { infra } from '@granary/testing/infra';
import { compactedObjects as readCompactedObjects } from '@granary/testing/object-store';
import { runCli } from '../src/cli.ts';
import { COMMANDS } from '../src/commands.ts';
import { captureStreams } from './support.ts';

export const uniqueName = (name: string) => `test.cli.${name}.${randomUUID().slice(0, 8)}`;

/** The environment the CLI gets its endpoints from, pointing at the test infrastructure. */
export function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  const endpoints = infra();
  return {
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    DATABASE_URL: endpoints.databaseUrl,
    REDIS_URL: endpoints.redisUrl,
    S3_ENDPOINT: endpoints.s3Endpoint,
    GRANARY_KAFKA__CLIENT_ID: 'granary-cli-tests',
    ...extra,
  };
}

/** Run `granary <argv>` in-process against the test infrastructure. */
export async function granary(argv: string[], env: Record<string, string> = cliEnv()) {
  const streams = captureStreams();
  const code = await runCli(COMMANDS, argv, streams, { env });
  return { code, out: streams.out(), err: streams.err() };
}

export function testKafka() {
  return createKafkaClient({ brokers: infra().kafkaBrokers, clientId: 'granary-cli-tests' });
}

export function topicSpec(name: string, partitions: number): TopicSpec {
  return { name, partitions, replicationFactor: 1, retentionMs: 3_600_000, cleanupPolicy: 'delete' };
}

/** Topics created by a test file, deleted by `deleteTopics` in its afterAll. */
const created = new Set<string>();

export async function createTopics(...specs: TopicSpec[]): Promise<void> {
  const admin = testKafka().createAdmin();
  await admin.connect();
  try {
    await provisionTopics(admin, specs);
    for (const spec of specs) created.add(spec.name);
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopics(): Promise<void> {
  if (created.size === 0) return;
  const admin = testKafka().createAdmin();
  await admin.connect();
  try {
    await admin.deleteTopics([...created]);
    created.clear();
  } finally {
    await admin.disconnect();
  }
}

export async function produce(records: OutgoingRecord[]): Promise<void> {
  const producer = new BatchingProducer(testKafka().createSender());
  await producer.connect();
  try {
    await producer.send(records);
  } finally {
    await producer.close();
  }
}

/** The compacted objects of a store opened just for this read; closes `store`. */
export async function compactedObjects(store: ObjectStore): Promise<Map<string, Buffer>> {
  try {
    return await readCompactedObjects(store);
  } finally {
    await store.close();
  }
}
