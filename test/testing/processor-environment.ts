import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { Index } from '@granary/index';
import { BatchingProducer, createKafkaClient, provisionTopics } from '@granary/kafka';
import { createLogger } from '@granary/observability';
import {
  NO_FAULTS,
  NO_PUBLICATION,
  PolicyCache,
  ProcessingInstruments,
  Processor,
  indexMetricDirectory,
} from '@granary/processing';
import { TopicSerde, createSchemaRegistryClient, measureBatchSchema } from '@granary/schema';
import { FileObjectStore, type ObjectStore, S3ObjectStore, readManifest } from '@granary/storage';
import { stringify } from 'yaml';
import { infra } from '../infra/endpoints.ts';
import { PROJECT_ROOT, S3_CREDENTIALS } from '../infra/settings.ts';
import type { StreamBatch } from './stream.ts';

export const uniqueSuffix = () => randomBytes(4).toString('hex');

/** Creates the topics (measures with `partitions` partitions, and its dead-letter topic). */
export async function createTopics(topic: string, partitions: number): Promise<void> {
  const kafka = createKafkaClient({ brokers: infra().kafkaBrokers, clientId: 'granary-processor-tests' });
  const admin = kafka.createAdmin();
  await admin.connect();
  const spec = { replicationFactor: 1, retentionMs: 3_600_000, cleanupPolicy: 'delete' as const };
  await provisionTopics(admin, [
    { name: topic, partitions, ...spec },
    { name: `${topic}.dlq`, partitions: 1, ...spec },
  ]);
  await admin.disconnect();
}

/** Produces the batches as Avro MeasureBatch records keyed by metric id (plus raw extra records). */
export async function produce(
  topic: string,
  batches: readonly StreamBatch[],
  extra: Buffer[] = [],
): Promise<void> {
  const kafka = createKafkaClient({ brokers: infra().kafkaBrokers, clientId: 'granary-processor-tests' });
  const serde = await TopicSerde.create(
    createSchemaRegistryClient({ url: infra().schemaRegistryUrl }),
    topic,
    measureBatchSchema,
  );
  const producer = new BatchingProducer(kafka.createSender());
  await producer.connect();
  const records = batches.map((batch) => ({
    topic,
    key: batch.metricId,
    value: serde.encode({ metric_id: batch.metricId, timestamps: batch.timestamps, values: batch.values }),
  }));
  for (let start = 0; start < records.length; start += 5000)
    await producer.send(records.slice(start, start + 5000));
  if (extra.length > 0) await producer.send(extra.map((value) => ({ topic, key: 'not-a-metric', value })));
  await producer.close();
}

export async function endOffsets(topic: string): Promise<Map<number, number>> {
  const kafka = createKafkaClient({ brokers: infra().kafkaBrokers, clientId: 'granary-processor-tests' });
  const admin = kafka.createAdmin();
  await admin.connect();
  const offsets = await admin.endOffsets(topic);
  await admin.disconnect();
  return new Map(offsets.map(({ partition, offset }) => [partition, Number(offset)]));
}

/**
 * Where a test processor keeps its checkpoints and splits: buckets of an S3 server, or folders.
 * A `place` is a bucket name or a folder name.
 */
export interface TestStorage {
  readonly name: string;
  /** The processor config's `storage` section for `place`. */
  config(place: string): Record<string, unknown>;
  open(place: string): ObjectStore;
  /** Empty and remove `place`, whether or not a test got as far as creating it. */
  drop(place: string): Promise<void>;
}

export function s3TestStorage(
  name: string,
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): TestStorage & { open(bucket: string): S3ObjectStore } {
  const open = (bucket: string) =>
    new S3ObjectStore({ endpoint, region: 'us-east-1', bucket, forcePathStyle: true, ...credentials });
  return {
    name,
    config: (bucket) => ({ driver: 's3', s3: { endpoint, bucket, ...credentials } }),
    open,
    async drop(bucket) {
      const store = open(bucket);
      await store.ensureBucket();
      await store.delete(await store.list(''));
      await store.close();
      const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      client.destroy();
    },
  };
}

export function fileTestStorage(root: string): TestStorage {
  return {
    name: 'filesystem',
    config: (folder) => ({ driver: 'file', file: { basePath: join(root, folder) } }),
    open: (folder) => new FileObjectStore({ basePath: join(root, folder) }),
    drop: async (folder) => rmSync(join(root, folder), { recursive: true, force: true }),
  };
}

/** The shared S3Proxy of test/infra: the storage of every test that names no other. */
const s3proxy = () => s3TestStorage('S3Proxy', infra().s3Endpoint, S3_CREDENTIALS);

export const s3Store = (bucket: string) => s3proxy().open(bucket);

export const dropBucket = (bucket: string) => s3proxy().drop(bucket);

/** True once every partition's manifest says it has checkpointed up to the partition's end. */
export async function caughtUp(
  store: ObjectStore,
  topic: string,
  ends: Map<number, number>,
): Promise<boolean> {
  for (const [partition, end] of ends) {
    const manifest = await readManifest(store, topic, partition);
    if ((manifest?.manifest.offset ?? 0) < end) return false;
  }
  return true;
}

export async function eventually(condition: () => Promise<boolean>, pollMs = 200): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, pollMs));
}

export interface ProcessorRun {
  readonly topic: string;
  readonly bucket: string;
  readonly databaseUrl: string;
  readonly groupId: string;
  readonly processor?: Record<string, unknown>;
  /** Default: the shared S3Proxy. */
  readonly storage?: TestStorage;
}

/** The configuration a processor of these tests runs with, as the YAML file `loadConfig` reads. */
export function processorConfig(run: ProcessorRun): Record<string, unknown> {
  const { kafkaBrokers, schemaRegistryUrl, redisUrl } = infra();
  return {
    processor: {
      groupId: run.groupId,
      sessionTimeoutMs: 6000,
      provisionTopics: false,
      createBucket: true,
      checkpoint: { intervalMs: 300, maxPendingOffsets: 400 },
      compaction: { intervalMs: 400, minSegments: 2, maxSegments: 8, graceMs: 0, concurrency: 8 },
      ...run.processor,
    },
    topics: {
      measures: { name: run.topic, partitions: 4 },
      measuresDeadLetter: { name: `${run.topic}.dlq`, partitions: 1 },
    },
    kafka: { brokers: kafkaBrokers, clientId: `granary-processor-${run.groupId}` },
    schemaRegistry: { url: schemaRegistryUrl },
    database: { url: run.databaseUrl },
    redis: { url: redisUrl },
    storage: (run.storage ?? s3proxy()).config(run.bucket),
    log: { level: 'warn' },
    admin: { port: 0 },
  };
}

export const scratchDirectory = () => mkdtempSync(join(tmpdir(), 'granary-processor-test-'));

/** Runs `node --import tsx apps/processor/main.ts` with this config; output goes to a log file. */
export function spawnProcessor(
  config: Record<string, unknown>,
  directory: string,
  name: string,
): ChildProcess {
  return spawnApp('processor', config, directory, name);
}

/** Runs `node --import tsx apps/<app>/main.ts` with this config; output goes to `<name>.log`. */
export function spawnApp(
  app: string,
  config: Record<string, unknown>,
  directory: string,
  name: string,
): ChildProcess {
  const configFile = join(directory, `${name}.yaml`);
  writeFileSync(configFile, stringify(config));
  const log = openSync(join(directory, `${name}.log`), 'w');
  return spawn(process.execPath, ['--import', 'tsx', `apps/${app}/main.ts`], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, GRANARY_CONFIG: configFile },
    stdio: ['ignore', log, log],
  });
}

/** Resolves with the signal that ended the child (null when it exited by itself) and its exit code. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * Compacts every live segment of every partition into the Gnocchi layout, in this process: claims
 * each partition (a new generation), folds, releases.
 */
export async function compactEverything(store: ObjectStore, topic: string, partitions: number, index: Index) {
  const processor = new Processor({
    store,
    topic,
    policies: new PolicyCache(indexMetricDirectory(index.metrics)),
    instruments: new ProcessingInstruments(),
    faults: NO_FAULTS,
    logger: createLogger('processor-test', 'warn'),
    nowUs: () => Date.now() * 1000,
    publication: NO_PUBLICATION,
    settings: {
      loadConcurrency: 8,
      compactionConcurrency: 8,
      compactionMaxSegments: 64,
      maxPendingOffsets: 1_000_000,
      compactionMinSegments: 1,
      compactionGraceMs: 0,
    },
    decode: async () => [],
    deadLetters: { send: async () => {} },
    deadLetterTopic: `${topic}.dlq`,
    seek: () => {},
  });
  await processor.assign(Array.from({ length: partitions }, (_, partition) => partition));
  await processor.compactAll();
  await processor.stop();
}
