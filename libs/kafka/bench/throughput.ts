/**
 * Encode/decode rates of the schema serde and produce→consume throughput against the configured
 * broker and registry (`make bench`, or `npm run bench -w @granary/kafka` with KAFKA_BROKERS and
 * SCHEMA_REGISTRY_URL set). Prints one line per measurement.
 */
import { randomUUID } from 'node:crypto';
import { AvroDeserializer, SerdeType } from '@confluentinc/schemaregistry';
import { KafkaSection, SchemaRegistrySection, loadConfig } from '@granary/config';
import {
  type AvroSchema,
  type MeasureBatch,
  type Sample,
  TopicSerde,
  createSchemaRegistryClient,
  measureBatchSchema,
  sampleSchema,
} from '@granary/schema';
import { Type } from '@sinclair/typebox';
import { BatchingProducer, createKafkaClient, provisionTopics } from '../index.ts';

const BenchConfig = Type.Object({
  kafka: KafkaSection,
  schemaRegistry: SchemaRegistrySection,
  bench: Type.Object(
    {
      codecRecords: Type.Integer({ minimum: 1, default: 200_000 }),
      pipelineRecords: Type.Integer({ minimum: 1, default: 100_000 }),
      pointsPerBatch: Type.Integer({ minimum: 1, default: 100 }),
      partitions: Type.Integer({ minimum: 1, default: 8 }),
    },
    { default: {} },
  ),
});
const config = loadConfig(BenchConfig);
const registry = createSchemaRegistryClient(config.schemaRegistry);
const kafka = createKafkaClient(config.kafka);
const points = config.bench.pointsPerBatch;

function aSample(i: number): Sample {
  return {
    counter_name: 'cpu',
    counter_type: 'cumulative',
    counter_unit: 'ns',
    counter_volume: i * 1e6,
    user_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    project_id: '0f9e8d7c6b5a49382716f5e4d3c2b1a0',
    user_name: null,
    project_name: 'demo',
    resource_id: `instance-${i % 5000}`,
    timestamp: 1_767_268_800_000_000 + i,
    resource_metadata: '{"flavor":{"name":"m1.small","vcpus":1},"host":"compute-1","image_ref":"cirros"}',
    source: 'openstack',
    message_id: randomUUID(),
    monotonic_time: i / 10,
    message_signature: 'f'.repeat(64),
  };
}

function aMeasureBatch(i: number): MeasureBatch {
  const start = 1_767_268_800_000_000 + i * points * 1_000_000;
  return {
    metric_id: randomUUID(),
    timestamps: Array.from({ length: points }, (_, p) => start + p * 1_000_000),
    values: Array.from({ length: points }, (_, p) => p * 0.5 + i),
  };
}

function report(what: string, records: number, seconds: number, measuresPerRecord?: number): void {
  const rate = Math.round(records / seconds).toLocaleString('en');
  const measures = measuresPerRecord
    ? `, ${Math.round((records * measuresPerRecord) / seconds).toLocaleString('en')} measures/s`
    : '';
  console.log(`${what.padEnd(66)} ${rate} records/s${measures}  (${records} in ${seconds.toFixed(2)} s)`);
}

function timed<T>(work: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const result = work();
  return [result, Number(process.hrtime.bigint() - start) / 1e9];
}

async function timedAsync<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const result = await work();
  return [result, Number(process.hrtime.bigint() - start) / 1e9];
}

async function benchCodec<V>(
  name: string,
  schema: AvroSchema<V>,
  make: (i: number) => V,
  perRecord?: number,
) {
  const topic = `bench.codec.${randomUUID().slice(0, 8)}`;
  const serde = await TopicSerde.create(registry, topic, schema);
  const count = config.bench.codecRecords;
  const values = Array.from({ length: Math.min(count, 10_000) }, (_, i) => make(i));
  const [encoded, encodeSeconds] = timed(() =>
    Array.from({ length: count }, (_, i) => serde.encode(values[i % values.length]!)),
  );
  report(`encode ${name}`, count, encodeSeconds, perRecord);
  // Warm the JIT on both paths so the order of the measurements does not decide their results.
  await serde.decodeAll(encoded.slice(0, 10_000));
  for (const bytes of encoded.slice(0, 10_000)) await serde.decode(bytes);
  // In batches of 500, as a consumer hands them over.
  const [, decodeSeconds] = await timedAsync(async () => {
    for (let at = 0; at < count; at += 500) await serde.decodeAll(encoded.slice(at, at + 500));
  });
  report(`decode ${name} (TopicSerde.decodeAll, 500 per call)`, count, decodeSeconds, perRecord);
  const [, decodeOneSeconds] = await timedAsync(async () => {
    for (const bytes of encoded) await serde.decode(bytes);
  });
  report(`decode ${name} (TopicSerde.decode, awaited each)`, count, decodeOneSeconds, perRecord);
  // The registry package's own deserializer, for comparison: per-record rule engine and promises.
  const theirs = new AvroDeserializer(registry, SerdeType.VALUE, {});
  const sampleOfTheirs = encoded.slice(0, Math.min(count, 50_000));
  const [, theirSeconds] = await timedAsync(async () => {
    for (const bytes of sampleOfTheirs) await theirs.deserialize(topic, bytes);
  });
  report(`decode ${name} (@confluentinc AvroDeserializer)`, sampleOfTheirs.length, theirSeconds, perRecord);
}

async function benchPipeline<V>(
  name: string,
  schema: AvroSchema<V>,
  make: (i: number) => V,
  key: (v: V) => string,
  perRecord?: number,
) {
  const topic = `bench.pipeline.${randomUUID().slice(0, 8)}`;
  const admin = kafka.createAdmin();
  await admin.connect();
  await provisionTopics(admin, [
    {
      name: topic,
      partitions: config.bench.partitions,
      replicationFactor: 1,
      retentionMs: 3_600_000,
      cleanupPolicy: 'delete',
    },
  ]);
  const serde = await TopicSerde.create(registry, topic, schema);
  const count = config.bench.pipelineRecords;
  const values = Array.from({ length: Math.min(count, 10_000) }, (_, i) => make(i));

  let consumed = 0;
  let failed = 0;
  let allConsumed!: () => void;
  const done = new Promise<void>((resolve) => {
    allConsumed = resolve;
  });
  let joined!: () => void;
  const assigned = new Promise<void>((resolve) => {
    joined = resolve;
  });
  const consumer = kafka.createConsumer({
    groupId: `bench-${randomUUID()}`,
    topics: [topic],
    maxBytesPerPartition: 4 * 1024 * 1024,
    onAssigned: () => joined(),
  });
  const running = consumer.run(async (batch) => {
    const outcomes = await serde.decodeAll(batch.records.map((r) => r.value!));
    for (const outcome of outcomes) if (!outcome.ok) failed++;
    consumed += outcomes.length;
    if (consumed >= count) allConsumed();
  });
  // Consumer first, so the measurement covers produce and consume together rather than a backlog.
  await assigned;

  const producer = new BatchingProducer(kafka.createSender());
  await producer.connect();
  const [, seconds] = await timedAsync(async () => {
    const sends: Promise<void>[] = [];
    for (let at = 0; at < count; at += 500) {
      const chunk = [];
      for (let i = at; i < Math.min(at + 500, count); i++) {
        const value = values[i % values.length]!;
        chunk.push({ topic, key: key(value), value: serde.encode(value) });
      }
      // Awaiting only when the producer pushes back keeps many sends in flight.
      sends.push(producer.send(chunk));
      if (sends.length >= 100) await sends.shift();
    }
    await Promise.all(sends);
    await done;
  });
  report(`produce→consume ${name} (${config.bench.partitions} partitions)`, count, seconds, perRecord);
  if (failed > 0) console.log(`  ${failed} records failed to decode`);
  await producer.close();
  await consumer.stop();
  await running;
  await admin.deleteTopics([topic]);
  await admin.disconnect();
}

console.log(`granary bench: kafka ${config.kafka.brokers.join(',')}, registry ${config.schemaRegistry.url}`);
await benchCodec('Sample', sampleSchema, aSample);
await benchCodec(`MeasureBatch(${points} points)`, measureBatchSchema, aMeasureBatch, points);
await benchPipeline('Sample', sampleSchema, aSample, (s) => s.resource_id);
await benchPipeline(
  `MeasureBatch(${points} points)`,
  measureBatchSchema,
  aMeasureBatch,
  (m) => m.metric_id,
  points,
);
