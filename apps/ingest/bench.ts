/**
 * Samples/s through ingest, signatures checked, over `bench.resources` host resources: produce
 * signed Avro samples to a scratch topic, let a real ingest (Kafka, registry, PostgreSQL, Redis)
 * turn them into measures, and time it from the first sample read to the last measure acknowledged.
 * Three passes: cold (every resource and metric created), warm (this process knows them all) and
 * Redis-warm (a restarted process: empty memory, Redis knows them). Scratch database and topics
 * are its own and removed at the end; its Redis keys expire within ten minutes.
 * `npm run bench -w @granary/app-ingest`, with the endpoints in the environment as for the apps.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '@granary/config';
import { createIndex } from '@granary/index';
import { BatchingProducer, createKafkaClient } from '@granary/kafka';
import { createLogger } from '@granary/observability';
import { TopicSerde, createSchemaRegistryClient, sampleSchema } from '@granary/schema';
import { signSample } from '@granary/telemetry';
import { Type } from '@sinclair/typebox';
import pg from 'pg';
import { IngestConfigSchema, type RunningIngest, startIngest } from './index.ts';

const BenchConfig = Type.Object({
  ...IngestConfigSchema.properties,
  bench: Type.Object(
    {
      resources: Type.Integer({ minimum: 1, default: 10_000 }),
      metersPerResource: Type.Integer({ minimum: 1, maximum: 6, default: 2 }),
    },
    { default: {} },
  ),
});
const loaded = loadConfig(BenchConfig);
const { bench, ...base } = loaded;
const logger = createLogger('ingest-bench', 'warn');
const run = randomUUID().slice(0, 8);
const METERS = [
  'hardware.memory.used',
  'hardware.cpu.load.1min',
  'hardware.memory.total',
  'hardware.memory.cached',
  'hardware.cpu.util',
  'hardware.system_stats.cpu.idle',
];
const SECRET = 'bench secret';

const databaseName = `granary_ingest_bench_${run}`;
const adminDb = new pg.Client({ connectionString: base.database.url });
await adminDb.connect();
await adminDb.query(`CREATE DATABASE ${databaseName}`);
const databaseUrl = new URL(base.database.url);
databaseUrl.pathname = `/${databaseName}`;
const index = createIndex({ databaseUrl: databaseUrl.toString() });
await index.migrate();
await index.seed('defaults');
await index.close();

const topicName = (name: string) => `bench.ingest.${name}.${run}`;
const config = {
  ...base,
  ingest: {
    ...base.ingest,
    groupId: topicName('group'),
    telemetrySecret: SECRET,
    oslo: { ...base.ingest.oslo, enabled: false },
    cache: { ...base.ingest.cache, redisKeyPrefix: `bench:${run}:`, redisTtlSeconds: 600 },
  },
  database: { url: databaseUrl.toString() },
  topics: {
    ...base.topics,
    samples: { ...base.topics.samples, name: topicName('samples'), retentionMs: 3_600_000 },
    measures: { ...base.topics.measures, name: topicName('measures'), retentionMs: 3_600_000 },
    samplesDeadLetter: { ...base.topics.samplesDeadLetter, name: topicName('samples.dlq') },
  },
};

const kafka = createKafkaClient(config.kafka);
let ingest: RunningIngest = await startIngest(config, logger);
const serde = await TopicSerde.create(
  createSchemaRegistryClient(config.schemaRegistry),
  topicName('samples'),
  sampleSchema,
);
const producer = new BatchingProducer(kafka.createSender(), { logger });
await producer.connect();

const counter = async (name: string) =>
  (await ingest.registry.getSingleMetric(name)?.get())?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pass(label: string, pass: number): Promise<void> {
  const total = bench.resources * bench.metersPerResource;
  const records = [];
  for (let r = 0; r < bench.resources; r++) {
    const host = `bench-host-${r}`;
    for (const meter of METERS.slice(0, bench.metersPerResource)) {
      const sample = signSample(
        {
          counter_name: meter,
          counter_type: 'gauge',
          counter_unit: 'KB',
          counter_volume: r + pass,
          user_id: null,
          project_id: null,
          user_name: null,
          project_name: null,
          resource_id: host,
          timestamp: 1_767_268_800_000_000 + pass * 60_000_000,
          resource_metadata: JSON.stringify({ resource_url: host }),
          source: 'hardware',
          message_id: randomUUID(),
          monotonic_time: null,
        },
        SECRET,
      );
      records.push({ topic: topicName('samples'), key: host, value: serde.encode(sample) });
    }
  }
  const inBefore = await counter('granary_ingest_samples_in_total');
  const outBefore = await counter('granary_ingest_samples_out_total');
  const lookupsBefore = await counter('granary_ingest_index_cache_lookups_total');
  await producer.send(records);
  while ((await counter('granary_ingest_samples_in_total')) === inBefore) await sleep(5);
  const started = performance.now();
  while ((await counter('granary_ingest_samples_out_total')) - outBefore < total) await sleep(5);
  const seconds = (performance.now() - started) / 1000;
  const lookups = (await ingest.registry.getSingleMetric('granary_ingest_index_cache_lookups_total')?.get())
    ?.values;
  const byOutcome = Object.fromEntries((lookups ?? []).map((v) => [v.labels.outcome, v.value]));
  console.log(
    `${label.padEnd(11)} ${total} samples over ${bench.resources} resources in ${seconds.toFixed(2)} s: ` +
      `${Math.round(total / seconds)} samples/s (resource look-ups so far: ${JSON.stringify(byOutcome)}, ` +
      `${(await counter('granary_ingest_index_cache_lookups_total')) - lookupsBefore} this pass)`,
  );
}

try {
  await pass('cold', 0);
  await pass('warm', 1);
  await ingest.stop();
  ingest = await startIngest(config, logger);
  await pass('redis-warm', 2);
} finally {
  await producer.close();
  await ingest.stop();
  const admin = kafka.createAdmin();
  await admin.connect();
  await admin.deleteTopics(
    Object.values(config.topics)
      .map((t) => t.name)
      .filter((n) => n.includes(run)),
  );
  await admin.disconnect();
  await adminDb.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
  await adminDb.end();
}
