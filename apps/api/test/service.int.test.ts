import { randomBytes } from 'node:crypto';
import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import { TopicSerde, createSchemaRegistryClient, measureBatchSchema } from '@granary/schema';
import { createTestDatabase } from '@granary/testing/database';
import { infra } from '@granary/testing/infra';
import { TEST_USERS_FILE } from '@granary/testing/settings';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiConfigSchema, type RunningApi, startApi } from '../index.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let api: RunningApi;
const topic = `granary.test.api.${randomBytes(4).toString('hex')}`;
const kafka = new Kafka({
  clientId: 'api-int-test',
  brokers: infra().kafkaBrokers,
  logLevel: logLevel.NOTHING,
});

beforeAll(async () => {
  // No topic is created here: the API must provision its own before the first write.
  database = await createTestDatabase();
  // Configured the way an operator would: through the environment loadConfig reads.
  const config = loadConfig(ApiConfigSchema, {
    env: {
      DATABASE_URL: database.url,
      KAFKA_BROKERS: infra().kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: infra().schemaRegistryUrl,
      GRANARY_TOPICS__MEASURES: JSON.stringify({ name: topic, partitions: 2 }),
      GRANARY_API__HOST: '127.0.0.1',
      GRANARY_API__AUTH__BASIC__USERS_FILE: TEST_USERS_FILE,
      GRANARY_API__PORT: '0',
      GRANARY_API__MAX_LIMIT: '7',
      GRANARY_INDEX__SEED: 'defaults',
    },
  });
  api = await startApi(config, createLogger('api-int', 'silent'));
});
afterAll(async () => {
  await api?.stop();
  await database?.drop();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
});

const basic = (user: string) => ({ authorization: `basic ${Buffer.from(`${user}:`).toString('base64')}` });

describe('the query service', () => {
  it('migrates and seeds the index, then serves the API and its admin endpoints', async () => {
    expect((await fetch(`${api.url}/healthcheck`)).status).toBe(200);
    const policies = (await (
      await fetch(`${api.url}/v1/archive_policy`, { headers: basic('foobar') })
    ).json()) as {
      name: string;
    }[];
    expect(policies.map((p) => p.name).sort()).toEqual(['bool', 'high', 'low', 'medium']);
    expect((await fetch(`${api.adminUrl}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${api.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /granary_api_requests_total\{method="GET",route="\/v1\/archive_policy",code="200"[^}]*\} 1/,
    );
    expect(metrics).toMatch(
      /granary_api_request_duration_seconds_count\{[^}]*route="\/healthcheck"[^}]*\} 1/,
    );
  });

  it('provisions the measures topic with the configured partition count', async () => {
    // Left to the broker's auto-creation, the topic would get its default count and metrics would
    // land in partitions the readers never look in.
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(topics[0]?.partitions).toHaveLength(2);
    } finally {
      await admin.disconnect();
    }
  });

  it('creates a metric from the default rule and reads it back', async () => {
    const created = await fetch(`${api.url}/v1/metric`, {
      method: 'POST',
      headers: { ...basic('foobar'), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cpu' }),
    });
    expect(created.status).toBe(201);
    const location = created.headers.get('location')!;
    expect(location.startsWith(`${api.url}/v1/metric/`)).toBe(true);
    const metric = (await (await fetch(location, { headers: basic('foobar') })).json()) as {
      archive_policy: { name: string };
    };
    expect(metric.archive_policy.name).toBe('low');
  });
});

describe('measure writes', () => {
  it('produces a MeasureBatch keyed by metric id before answering 202', async () => {
    const created = await fetch(`${api.url}/v1/metric`, {
      method: 'POST',
      headers: { ...basic('foobar'), 'content-type': 'application/json' },
      body: JSON.stringify({ archive_policy_name: 'low' }),
    });
    const { id } = (await created.json()) as { id: string };
    const posted = await fetch(`${api.url}/v1/metric/${id}/measures`, {
      method: 'POST',
      headers: { ...basic('foobar'), 'content-type': 'application/json' },
      body: JSON.stringify([
        { timestamp: '2015-03-06T14:33:57', value: 43.1 },
        { timestamp: '2015-03-06T14:34:12', value: 12 },
      ]),
    });
    expect(posted.status).toBe(202);

    const serde = await TopicSerde.create(
      createSchemaRegistryClient({ url: infra().schemaRegistryUrl }),
      topic,
      measureBatchSchema,
    );
    const consumer = kafka.consumer({ groupId: `${topic}.reader` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const record = await new Promise<{ key: string; value: Buffer }>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => resolve({ key: String(message.key), value: message.value! }),
      });
    });
    await consumer.disconnect();
    expect(record.key).toBe(id);
    expect(await serde.decode(record.value)).toEqual({
      metric_id: id,
      timestamps: [Date.UTC(2015, 2, 6, 14, 33, 57) * 1000, Date.UTC(2015, 2, 6, 14, 34, 12) * 1000],
      values: [43.1, 12],
    });
  });
});

describe('admin metrics', () => {
  it("exports its index, object store, reader and Kafka producer's metrics", async () => {
    const created = await fetch(`${api.url}/v1/metric`, {
      method: 'POST',
      headers: { ...basic('foobar'), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'measured' }),
    });
    const { id } = (await created.json()) as { id: string };
    const measures = `${api.url}/v1/metric/${id}/measures`;
    const posted = await fetch(measures, {
      method: 'POST',
      headers: { ...basic('foobar'), 'content-type': 'application/json' },
      body: JSON.stringify([{ timestamp: '2015-03-06T14:33:57', value: 1 }]),
    });
    expect(posted.status).toBe(202);
    expect((await fetch(measures, { headers: basic('foobar') })).status).toBe(200);

    const metrics = await (await fetch(`${api.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /granary_index_operations_total\{operation="metrics\.create",outcome="ok"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(/granary_index_pool_connections\{[^}]*\} [1-9]/);
    expect(metrics).toMatch(
      /granary_storage_operations_total\{driver="(file|s3)",operation="list",outcome="ok"/,
    );
    expect(metrics).toMatch(/granary_reader_reads_total\{outcome="ok"[^}]*\} 1/);
    expect(metrics).toMatch(
      new RegExp(`granary_kafka_produced_records_total\\{topic="${topic}"[^}]*\\} [1-9]`),
    );
  });
});
