/**
 * Processor benchmark (`make bench`; endpoints from .granary/infra.env through loadConfig): 10,000
 * metrics on `medium`, 10 measures per metric per batch, through real Kafka, PostgreSQL, Redis and
 * S3Proxy. Reports sustained measures/s from `granary.measures` to checkpointed state (watermarks in
 * Redis), object writes and bytes per million measures, and recovery time with 10,000 metrics.
 * Other work on the machine skews the wall-clock figures (the load average is printed with them);
 * CPU seconds of this process per million measures do not depend on it.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { loadConfig } from '@granary/config';
import { watermarkKey } from '@granary/coordination';
import { BatchingProducer, createKafkaClient } from '@granary/kafka';
import { createLogger } from '@granary/observability';
import { TopicSerde, createSchemaRegistryClient, measureBatchSchema } from '@granary/schema';
import { S3ObjectStore } from '@granary/storage';
import { createBenchIndex } from '@granary/testing/postgres';
import { Redis } from 'ioredis';
import { generateMetricIds, roundOf } from './bench-stream.ts';
import { type ProcessorConfig, ProcessorConfigSchema, startProcessor } from './index.ts';

const METRICS = 10_000;
const MEASURES_PER_BATCH = 10;
const ROUNDS = 30;
const PARTITIONS = 64;

const suffix = randomBytes(4).toString('hex');
const base = loadConfig(ProcessorConfigSchema);
const logger = createLogger('processor-bench', 'warn');
const topic = `bench.measures.${suffix}`;
const databaseName = `granary_bench_${suffix}`;
const databaseUrl = new URL(base.database.url);
databaseUrl.pathname = `/${databaseName}`;
const config: ProcessorConfig = {
  ...base,
  processor: {
    ...base.processor,
    groupId: `bench-${suffix}`,
    createBucket: true,
    checkpoint: { ...base.processor.checkpoint, intervalMs: 1000 },
  },
  topics: {
    ...base.topics,
    measures: { ...base.topics.measures, name: topic, partitions: PARTITIONS, retentionMs: 3_600_000 },
    measuresDeadLetter: { ...base.topics.measuresDeadLetter, name: `${topic}.dlq` },
  },
  database: { url: databaseUrl.toString() },
  storage: { ...base.storage, driver: 's3', s3: { ...base.storage.s3, bucket: `granary-bench-${suffix}` } },
  log: { level: 'warn' },
};

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function produceRounds(ids: readonly string[], rounds: number[]): Promise<void> {
  const kafka = createKafkaClient(config.kafka);
  const serde = await TopicSerde.create(
    createSchemaRegistryClient(config.schemaRegistry),
    topic,
    measureBatchSchema,
  );
  const producer = new BatchingProducer(kafka.createSender());
  await producer.connect();
  for (const round of rounds) {
    const records = roundOf(ids, round, MEASURES_PER_BATCH).map((batch) => ({
      topic,
      key: batch.metric_id,
      value: serde.encode(batch),
    }));
    await producer.send(records);
  }
  await producer.close();
}

async function endOffsets(): Promise<number[]> {
  const admin = createKafkaClient(config.kafka).createAdmin();
  await admin.connect();
  const offsets = await admin.endOffsets(topic);
  await admin.disconnect();
  return offsets.sort((a, b) => a.partition - b.partition).map(({ offset }) => Number(offset));
}

async function counter(running: Awaited<ReturnType<typeof startProcessor>>, name: string) {
  const metric = await running.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []) as {
    labels: Record<string, string | number>;
    value: number;
    metricName?: string;
  }[];
}

/** Runs a processor until every partition's watermark reaches its end offset. */
async function runUntilCheckpointed(redis: Redis) {
  const ends = await endOffsets();
  const keys = ends.map((_, partition) => watermarkKey(topic, partition));
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const running = await startProcessor(config, logger);
  let firstApplied: number | undefined;
  let firstRoundApplied: number | undefined;
  for (;;) {
    if (firstRoundApplied === undefined) {
      const applied = (await counter(running, 'granary_processor_measures_applied_total'))[0]?.value ?? 0;
      if (applied > 0) firstApplied ??= seconds(started);
      // Past the first round every metric is in memory: no more raw-tail reads.
      if (applied >= METRICS * MEASURES_PER_BATCH) firstRoundApplied = seconds(started);
    }
    const marks = (await redis.mget(...keys)).map(Number);
    if (marks.every((mark, partition) => mark >= (ends[partition] as number))) break;
    await sleep(100);
  }
  const total = seconds(started);
  const cpu = process.cpuUsage(cpuBefore);
  return {
    running,
    firstApplied: firstApplied ?? total,
    firstRoundApplied: firstRoundApplied ?? total,
    total,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

async function main(): Promise<void> {
  const ids = generateMetricIds(METRICS);
  console.log(
    `processor bench: ${METRICS} metrics (medium), ${MEASURES_PER_BATCH} measures/batch, ${ROUNDS} rounds, ${PARTITIONS} partitions`,
  );
  const database = await createBenchIndex(base.database.url, databaseName, ids, 'medium');
  const admin = createKafkaClient(config.kafka).createAdmin();
  await admin.connect();
  await admin.createTopics([config.topics.measures, config.topics.measuresDeadLetter]);
  await admin.disconnect();
  await produceRounds(
    ids,
    Array.from({ length: ROUNDS }, (_, round) => round),
  );
  const redis = new Redis(config.redis.url);

  const run = await runUntilCheckpointed(redis);
  const measures = METRICS * MEASURES_PER_BATCH * ROUNDS;
  const consuming = run.total - run.firstApplied;
  const writes = await counter(run.running, 'granary_processor_object_writes_total');
  const bytes = await counter(run.running, 'granary_processor_bytes_written_total');
  const checkpoints = (await counter(run.running, 'granary_processor_checkpoint_duration_seconds')).find(
    (value) => value.metricName === 'granary_processor_checkpoint_duration_seconds_count',
  )?.value;
  const rss = process.memoryUsage().rss;
  await run.running.stop();
  console.log(
    `throughput: ${measures} measures checkpointed in ${consuming.toFixed(1)} s after the first batch = ${Math.round(measures / consuming)} measures/s (${Math.round(measures / run.total)} /s including start-up; ${run.cpuSeconds.toFixed(1)} CPU s, RSS ${Math.round(rss / 2 ** 20)} MiB)`,
  );
  console.log(
    `  CPU: ${((run.cpuSeconds * 1e6) / measures).toFixed(2)} CPU s per million measures, including start-up (load average ${loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')})`,
  );
  const steady = measures - METRICS * MEASURES_PER_BATCH;
  console.log(
    `  steady state (rounds 2..${ROUNDS}, every metric already in memory): ${Math.round(steady / (run.total - run.firstRoundApplied))} measures/s; first round (10,000 raw-tail reads from S3): ${(run.firstRoundApplied - run.firstApplied).toFixed(1)} s`,
  );
  console.log(`checkpoints (partition × interval): ${checkpoints}`);
  const perMillion = (value: number) => (value * 1e6) / measures;
  for (const { labels, value } of writes) {
    const written = bytes.find((entry) => entry.labels.kind === labels.kind)?.value ?? 0;
    console.log(
      `  ${String(labels.kind).padEnd(9)} writes ${value} (${perMillion(value).toFixed(1)} per million measures), bytes ${written} (${Math.round(perMillion(written))} per million measures)`,
    );
  }
  const segmentWrites = writes.find((entry) => entry.labels.kind === 'segment')?.value ?? 0;
  const manifestWrites = writes.find((entry) => entry.labels.kind === 'manifest')?.value ?? 0;
  // Manifest writes are one claim per partition plus one per checkpoint (and per compaction).
  console.log(
    `  per partition checkpoint: ${(segmentWrites / (checkpoints ?? 1)).toFixed(2)} segment + ${((manifestWrites - PARTITIONS) / (checkpoints ?? 1)).toFixed(2)} manifest writes, for ${METRICS / PARTITIONS} metrics per partition`,
  );

  // Recovery: a new processor takes over all 64 partitions with 10,000 metrics of state.
  await produceRounds(ids, [ROUNDS]);
  const recovery = await runUntilCheckpointed(redis);
  const recoverySeconds = await counter(recovery.running, 'granary_processor_recovery_seconds');
  const sum =
    recoverySeconds.find((value) => value.metricName === 'granary_processor_recovery_seconds_sum')?.value ??
    0;
  const count =
    recoverySeconds.find((value) => value.metricName === 'granary_processor_recovery_seconds_count')?.value ??
    1;
  await recovery.running.stop();
  console.log(
    `recovery with ${METRICS} metrics: first batch applied ${recovery.firstApplied.toFixed(2)} s after start; partition assigned → first batch applied ${(sum / count).toFixed(3)} s on average over ${count} partitions; next round of all ${METRICS} metrics checkpointed ${recovery.total.toFixed(2)} s after start`,
  );

  await redis.quit();
  const store = new S3ObjectStore({ ...config.storage.s3 });
  await store.delete(await store.list(''));
  await store.close();
  const cleanup = createKafkaClient(config.kafka).createAdmin();
  await cleanup.connect();
  await cleanup.deleteTopics([topic, `${topic}.dlq`]);
  await cleanup.disconnect();
  await database.drop();
}

await main();
