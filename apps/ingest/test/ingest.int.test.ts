import { randomUUID } from 'node:crypto';
import { loadConfig } from '@granary/config';
import { createRedisClient, readMemberStatuses } from '@granary/coordination';
import { resourceUuid } from '@granary/index';
import { type ConsumedRecord, type KafkaClient, createKafkaClient, readDeadLetter } from '@granary/kafka';
import { createLogger } from '@granary/observability';
import { parsePythonJson } from '@granary/python-format';
import {
  type MeasureBatch,
  type Sample,
  TopicSerde,
  createSchemaRegistryClient,
  measureBatchSchema,
  sampleSchema,
} from '@granary/schema';
import { type UnsignedSample, computeSignature, signSample } from '@granary/telemetry';
import { type TestIndex, createTestIndex } from '@granary/testing/database';
import { infra } from '@granary/testing/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IngestConfig, IngestConfigSchema, type RunningIngest, startIngest } from '../index.ts';

const SECRET = 'ingest integration secret';
const logger = createLogger('ingest-test', 'silent');
const unique = (name: string) => `test.ingest.${name}.${randomUUID().slice(0, 8)}`;
const T0 = 1_763_700_000_000_000;

let test: TestIndex;
let kafka: KafkaClient;
const topicSet = (name: string) => ({
  samples: unique(`${name}.samples`),
  measures: unique(`${name}.measures`),
  deadLetters: unique(`${name}.samples.dlq`),
  oslo: unique(`${name}.notifications.sample`),
});
const topics = topicSet('main');
const poisonTopics = topicSet('poison');

function ingestConfig(groupId: string, { samples, measures, deadLetters, oslo } = topics): IngestConfig {
  const base = loadConfig(IngestConfigSchema, { env: {} });
  const topic = (spec: IngestConfig['topics']['samples'], name: string, partitions: number) => ({
    ...spec,
    name,
    partitions,
    retentionMs: 3_600_000,
  });
  return {
    ...base,
    ingest: {
      ...base.ingest,
      groupId,
      telemetrySecret: SECRET,
      oslo: { enabled: true, topic: topic(base.ingest.oslo.topic, oslo, 1) },
      cache: { ...base.ingest.cache, redisKeyPrefix: `${groupId}:` },
    },
    kafka: { brokers: infra().kafkaBrokers, clientId: 'granary-ingest-tests' },
    schemaRegistry: { url: infra().schemaRegistryUrl },
    database: { url: test.databaseUrl },
    redis: { url: infra().redisUrl },
    topics: {
      ...base.topics,
      samples: topic(base.topics.samples, samples, 2),
      measures: topic(base.topics.measures, measures, 4),
      samplesDeadLetter: topic(base.topics.samplesDeadLetter, deadLetters, 1),
    },
  };
}

async function eventually(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 100));
}

/** Waits until `groupId` has committed every partition of `inputs` up to its end. */
async function committedToTheEnd(groupId: string, inputs: readonly string[]): Promise<void> {
  const admin = kafka.createAdmin();
  await admin.connect();
  try {
    for (const topic of inputs) {
      const ends = await admin.endOffsets(topic);
      await eventually(async () => {
        const committed = await admin.committedOffsets(groupId, topic);
        // A partition that never had a record has nothing to commit ('-1').
        return ends.every(
          (end) =>
            end.offset === '0' || committed.find((c) => c.partition === end.partition)?.offset === end.offset,
        );
      });
    }
  } finally {
    await admin.disconnect();
  }
}

/** Every record of `topic` from the beginning, as it arrives. */
function readTopic(topic: string): { records: ConsumedRecord[]; stop(): Promise<void> } {
  const records: ConsumedRecord[] = [];
  const consumer = kafka.createConsumer({ groupId: unique('reader'), topics: [topic] });
  const running = consumer.run(async (batch) => {
    records.push(...batch.records);
  });
  return {
    records,
    stop: async () => {
      await consumer.stop();
      await running;
    },
  };
}

const hostSample = (overrides: Partial<UnsignedSample>): UnsignedSample => ({
  counter_name: 'hardware.memory.used',
  counter_type: 'gauge',
  counter_unit: 'KB',
  counter_volume: 1000,
  user_id: null,
  project_id: null,
  user_name: null,
  project_name: null,
  resource_id: 'node-a',
  timestamp: T0,
  resource_metadata: '{"resource_url": "node-a"}',
  source: 'hardware',
  message_id: randomUUID(),
  monotonic_time: null,
  ...overrides,
});

/** What an unchanged Ceilometer polling agent writes to Kafka: one signed meter in an oslo envelope. */
function ceilometerNotification(
  volumeText: string,
  secret: string,
  metadata = '{"resource_url": "node-b"}',
): Buffer {
  const meter = `{"source": "hardware", "counter_name": "hardware.memory.total", "counter_type": "gauge", "counter_unit": "KB", "counter_volume": ${volumeText}, "user_id": null, "user_name": null, "project_id": null, "project_name": null, "resource_id": "node-b", "timestamp": "2025-11-21T04:40:00.250000", "resource_metadata": ${metadata}, "message_id": "${randomUUID()}", "monotonic_time": null}`;
  // A meter too deep to sign is sent with a signature that ingest must not even get to check.
  const signature = secret ? computeSignature(parsePythonJson(meter) as never, secret) : 'unchecked';
  const signed = meter.replace(/}$/, `, "message_signature": "${signature}"}`);
  const message = `{"message_id": "${randomUUID()}", "publisher_id": "ceilometer.polling", "event_type": "telemetry.polling", "priority": "SAMPLE", "payload": {"samples": [${signed}]}, "timestamp": "2025-11-21 04:40:00.300000", "_context": {}}`;
  return Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': message }));
}

beforeAll(async () => {
  test = await createTestIndex();
  await test.index.seed('defaults');
  kafka = createKafkaClient({ brokers: infra().kafkaBrokers, clientId: 'granary-ingest-tests' });
});

afterAll(async () => {
  const admin = kafka.createAdmin();
  await admin.connect();
  await admin.deleteTopics([...Object.values(topics), ...Object.values(poisonTopics)]);
  await admin.disconnect();
  await test?.drop();
});

describe('ingest against the real Kafka, registry, PostgreSQL and Redis', () => {
  it('turns signed samples and Ceilometer notifications into measures per metric, dead-letters forgeries with their reason', async () => {
    const groupId = unique('group');
    let ingest: RunningIngest | undefined = await startIngest(ingestConfig(groupId), logger);
    const measuresRead = readTopic(topics.measures);
    const deadLettersRead = readTopic(topics.deadLetters);
    try {
      const serde = await TopicSerde.create(
        createSchemaRegistryClient({ url: infra().schemaRegistryUrl }),
        topics.samples,
        sampleSchema,
      );
      const sender = kafka.createSender();
      await sender.connect();
      const signed = [
        signSample(hostSample({ counter_volume: 1000 }), SECRET),
        signSample(hostSample({ counter_volume: 1200, timestamp: T0 + 10_000_000 }), SECRET),
        signSample(
          hostSample({
            counter_name: 'hardware.cpu.load.1min',
            counter_unit: 'process',
            counter_volume: 0.5,
          }),
          SECRET,
        ),
        signSample(hostSample({ counter_name: 'no.such.meter' }), SECRET),
      ];
      const forged: Sample = { ...signSample(hostSample({}), SECRET), counter_volume: 999_999 };
      const unsigned: Sample = signSample(hostSample({}), '');
      const samples = [...signed, forged, unsigned];
      await sender.send(
        samples.map((s) => ({ topic: topics.samples, key: s.resource_id, value: serde.encode(s) })),
      );
      await sender.send([
        { topic: topics.oslo, key: null, value: ceilometerNotification('4096.0', SECRET) },
        // An envelope without a message.
        { topic: topics.oslo, key: null, value: Buffer.from('{"oslo.version": "2.0"}') },
      ]);
      await sender.disconnect();

      await eventually(() => measuresRead.records.length >= 3 && deadLettersRead.records.length >= 3);

      const measureSerde = await TopicSerde.create(
        createSchemaRegistryClient({ url: infra().schemaRegistryUrl }),
        topics.measures,
        measureBatchSchema,
        { register: false },
      );
      const batches: Array<{ key: string; batch: MeasureBatch }> = [];
      for (const record of measuresRead.records)
        batches.push({ key: record.key!.toString(), batch: await measureSerde.decode(record.value!) });
      const nodeA = (await test.index.resources.get('host', resourceUuid('node-a', 'granary-ingest')))!;
      const nodeB = (await test.index.resources.get('host', resourceUuid('node-b', 'granary-ingest')))!;
      expect(nodeA.attributes).toEqual({ host_name: 'node-a' });
      expect(nodeB.attributes).toEqual({ host_name: 'node-b' });
      const byMetric = new Map(batches.map(({ key, batch }) => [key, batch]));
      expect(batches.every(({ key, batch }) => key === batch.metric_id)).toBe(true);
      expect(byMetric.get(nodeA.metrics['hardware.memory.used']!)).toMatchObject({
        timestamps: [T0, T0 + 10_000_000],
        values: [1000, 1200],
      });
      expect(byMetric.get(nodeA.metrics['hardware.cpu.load.1min']!)).toMatchObject({
        timestamps: [T0],
        values: [0.5],
      });
      expect(byMetric.get(nodeB.metrics['hardware.memory.total']!)).toMatchObject({
        timestamps: [Date.UTC(2025, 10, 21, 4, 40) * 1000 + 250_000],
        values: [4096],
      });
      expect(byMetric.size).toBe(3);

      const letters = deadLettersRead.records.map((record) => ({
        info: readDeadLetter(record)!,
        value: record.value,
      }));
      expect(letters.map((l) => [l.info.sourceTopic, l.info.errorCode]).sort()).toEqual(
        [
          [topics.oslo, 'PUBLISHER_INVALID_NOTIFICATION'],
          [topics.samples, 'PUBLISHER_FORGED_SAMPLE'],
          [topics.samples, 'PUBLISHER_UNSIGNED_SAMPLE'],
        ].sort(),
      );
      const forgedLetter = letters.find((l) => l.info.errorCode === 'PUBLISHER_FORGED_SAMPLE')!;
      expect(forgedLetter.value).toEqual(serde.encode(forged));
      expect(forgedLetter.info.errorMessage).toContain(forged.message_id);

      // Offsets are committed once the measures are acknowledged: everything read is committed.
      await committedToTheEnd(groupId, [topics.samples]);

      const metrics = await (await fetch(`${ingest.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/granary_ingest_samples_in_total\{format="avro"[^}]*\} 6/);
      expect(metrics).toMatch(/granary_ingest_samples_in_total\{format="oslo"[^}]*\} 1/);
      expect(metrics).toMatch(/granary_ingest_samples_out_total\{[^}]*\} 4/);
      expect(metrics).toMatch(/granary_ingest_rejected_total\{reason="PUBLISHER_FORGED_SAMPLE"[^}]*\} 1/);
      expect(metrics).toMatch(
        /granary_ingest_rejected_total\{reason="PUBLISHER_INVALID_NOTIFICATION"[^}]*\} 1/,
      );
      expect(metrics).toMatch(/granary_ingest_unmapped_samples_total\{[^}]*\} 1/);
      expect(metrics).toMatch(/granary_ingest_index_cache_lookups_total\{outcome="index"[^}]*\} [1-9]/);
      expect(metrics).toMatch(/granary_ingest_consumer_lag\{topic="[^"]+",partition="\d"[^}]*\} 0/);
      // Its Kafka client and index, measured at their ports.
      expect(metrics).toMatch(
        new RegExp(
          `granary_kafka_consumed_batches_total\\{topic="${topics.samples}",outcome="ok"[^}]*\\} [1-9]`,
        ),
      );
      expect(metrics).toMatch(
        new RegExp(`granary_kafka_produced_records_total\\{topic="${topics.measures}"[^}]*\\} [1-9]`),
      );
      expect(metrics).toMatch(
        /granary_index_operations_total\{operation="[a-zA-Z]+\.[a-zA-Z]+",outcome="ok"/,
      );
      expect((await fetch(`${ingest.adminUrl}/healthz`)).status).toBe(200);

      // A restart in the same group reads nothing again: no new measures.
      await ingest.stop();
      ingest = undefined;
      const before = measuresRead.records.length;
      ingest = await startIngest(ingestConfig(groupId), logger);
      await eventually(async () => (await fetch(`${ingest!.adminUrl}/readyz`)).status === 200);
      const again = kafka.createSender();
      await again.connect();
      await again.send([
        {
          topic: topics.samples,
          key: 'node-a',
          value: serde.encode(
            signSample(hostSample({ counter_volume: 1300, timestamp: T0 + 20_000_000 }), SECRET),
          ),
        },
      ]);
      await again.disconnect();
      await eventually(() => measuresRead.records.length > before);
      const [latest] = await Promise.all(
        measuresRead.records.slice(before).map((r) => measureSerde.decode(r.value!)),
      );
      expect(measuresRead.records.length).toBe(before + 1);
      expect(latest).toEqual({
        metric_id: nodeA.metrics['hardware.memory.used'],
        timestamps: [T0 + 20_000_000],
        values: [1300],
      });
      // Known resource: answered from memory or Redis, not the index.
      const after = await (await fetch(`${ingest.adminUrl}/metrics`)).text();
      expect(after).toMatch(/granary_ingest_index_cache_lookups_total\{outcome="shared"[^}]*\} 1/);
    } finally {
      await ingest?.stop();
      await measuresRead.stop();
      await deadLettersRead.stop();
    }
  });
});

/** `{"a": {"a": ... {}}}`, `levels` objects deep. */
const nestedJson = (levels: number) => `${'{"a": '.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;

const redis = createRedisClient(
  { url: infra().redisUrl },
  { role: 'commands', lazyConnect: true, onError: () => {} },
);

describe('ingest past poison records', () => {
  beforeAll(() => redis.connect());
  afterAll(() => redis.quit());

  it('dead-letters records that used to throw or allocate without bound, with their reason, and goes on', async () => {
    const groupId = unique('poison-group');
    const ingest = await startIngest(ingestConfig(groupId, poisonTopics), logger);
    const measuresRead = readTopic(poisonTopics.measures);
    const deadLettersRead = readTopic(poisonTopics.deadLetters);
    try {
      const serde = await TopicSerde.create(
        createSchemaRegistryClient({ url: infra().schemaRegistryUrl }),
        poisonTopics.samples,
        sampleSchema,
      );
      // Signature verification recursed into this and overflowed the stack (an uncoded RangeError
      // that stopped the consumer without commit, on every restart).
      const deep: Sample = {
        ...hostSample({ resource_metadata: nestedJson(5_000) }),
        message_signature: 'x',
      };
      // A string that declares 2^40 bytes in a 30-byte record.
      const header = serde.encode(signSample(hostSample({}), SECRET)).subarray(0, 5);
      const hugeLength = Buffer.concat([
        header,
        Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x40]),
        Buffer.alloc(24),
      ]);
      const good = signSample(hostSample({ counter_volume: 4242, timestamp: T0 + 60_000_000 }), SECRET);
      const sender = kafka.createSender();
      await sender.connect();
      // One key: one partition, in this order, so the good sample comes after the poison ones.
      await sender.send(
        [serde.encode(deep), hugeLength, serde.encode(good)].map((value) => ({
          topic: poisonTopics.samples,
          key: 'node-a',
          value,
        })),
      );
      await sender.send([
        {
          topic: poisonTopics.oslo,
          key: null,
          value: ceilometerNotification('1.0', '', `{"resource_url": "node-b", "x": ${nestedJson(200)}}`),
        },
        { topic: poisonTopics.oslo, key: null, value: ceilometerNotification('2048.0', SECRET) },
      ]);
      await sender.disconnect();

      await eventually(() => deadLettersRead.records.length >= 3 && measuresRead.records.length >= 2);
      const letters = deadLettersRead.records.map((record) => ({ info: readDeadLetter(record)!, record }));
      expect(letters.map(({ info }) => [info.sourceTopic, info.sourceOffset, info.errorCode]).sort()).toEqual(
        [
          [poisonTopics.samples, '0', 'TELEMETRY_TOO_DEEP'],
          [poisonTopics.samples, '1', 'SCHEMA_CORRUPT_RECORD'],
          [poisonTopics.oslo, '0', 'TELEMETRY_TOO_DEEP'],
        ].sort(),
      );
      const byCode = (code: string, topic: string) =>
        letters.find(({ info }) => info.errorCode === code && info.sourceTopic === topic)!;
      expect(byCode('TELEMETRY_TOO_DEEP', poisonTopics.samples).info.errorMessage).toContain(
        'nests deeper than 64 levels',
      );
      expect(byCode('TELEMETRY_TOO_DEEP', poisonTopics.samples).record.value).toEqual(serde.encode(deep));
      expect(byCode('SCHEMA_CORRUPT_RECORD', poisonTopics.samples).info.errorMessage).toContain(
        'string declares 1099511627776 bytes',
      );

      // The good records after them were processed.
      const measureSerde = await TopicSerde.create(
        createSchemaRegistryClient({ url: infra().schemaRegistryUrl }),
        poisonTopics.measures,
        measureBatchSchema,
        { register: false },
      );
      const values = await Promise.all(measuresRead.records.map((r) => measureSerde.decode(r.value!)));
      expect(values.map((batch) => batch.values).sort()).toEqual([[2048], [4242]]);

      // Committed past everything, and still healthy.
      await committedToTheEnd(groupId, [poisonTopics.samples, poisonTopics.oslo]);
      expect((await fetch(`${ingest.adminUrl}/healthz`)).status).toBe(200);

      // Its member status (for /v1/status and the console) counts the same dead letters by code.
      await expect
        .poll(
          async () => (await readMemberStatuses(redis, poisonTopics.measures)).map((m) => m.deadLetters),
          {
            timeout: 15_000,
          },
        )
        .toEqual([
          [
            { code: 'SCHEMA_CORRUPT_RECORD', count: 1 },
            { code: 'TELEMETRY_TOO_DEEP', count: 2 },
          ],
        ]);
    } finally {
      await ingest.stop();
      expect(await readMemberStatuses(redis, poisonTopics.measures)).toEqual([]);
      await measuresRead.stop();
      await deadLettersRead.stop();
    }
  });
});
