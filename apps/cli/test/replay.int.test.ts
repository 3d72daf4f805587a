import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessorConfigSchema, startProcessor } from '@granary/app-processor';
import { loadConfig } from '@granary/config';
import { createIndex } from '@granary/index';
import { partitionFor } from '@granary/kafka';
import { createLogger } from '@granary/observability';
import { TopicSerde, createSchemaRegistryClient, measureBatchSchema } from '@granary/schema';
import { FileObjectStore, readManifest } from '@granary/storage';
import { type TestDatabase, createTestDatabase } from '@granary/testing/database';
import { infra } from '@granary/testing/infra';
import { dropBucket, s3Store } from '@granary/testing/processor-environment';
import { S3_CREDENTIALS } from '@granary/testing/settings';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { KafkaTools } from '../src/kafka-tools.ts';
import {
  cliEnv,
  compactedObjects,
  createTopics,
  deleteTopics,
  granary,
  produce,
  topicSpec,
  uniqueName,
} from './integration.ts';

const suffix = randomUUID().slice(0, 8);
const topic = uniqueName('measures');
const buckets = [`granary-cli-replay-a-${suffix}`, `granary-cli-replay-b-${suffix}`];
const directory = mkdtempSync(join(tmpdir(), 'granary-cli-replay-'));
const metricIds: string[] = Array.from({ length: 6 }, () => randomUUID());
let env: Record<string, string>;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  env = cliEnv({ DATABASE_URL: database.url });
  const upgrade = await granary(['index', 'upgrade', '--json'], env);
  expect(upgrade.code).toBe(0);
  expect(JSON.parse(upgrade.out)).toMatchObject({ seed: 'defaults', seeded: true });

  const index = createIndex({ databaseUrl: database.url, maxConnections: 1 });
  for (const id of metricIds) await index.metrics.create({ id, creator: null, archivePolicyName: 'medium' });
  await index.close();

  await createTopics(topicSpec(topic, 4));
  const serde = await TopicSerde.create(
    createSchemaRegistryClient({ url: infra().schemaRegistryUrl }),
    topic,
    measureBatchSchema,
  );
  const start = 1_767_268_800_000_000;
  const records = [];
  // Two hours of 10-second points per metric in batches of 30, some rewritten later (newest wins).
  for (let batch = 0; batch < 24; batch++) {
    for (const [m, metricId] of metricIds.entries()) {
      const timestamps = Array.from({ length: 30 }, (_, i) => start + (batch * 30 + i) * 10_000_000);
      const values = timestamps.map((_, i) => Math.sin(batch * 30 + i + m) * 100 + m);
      records.push({
        topic,
        key: metricId,
        value: serde.encode({ metric_id: metricId, timestamps, values }),
      });
    }
  }
  records.push({
    topic,
    key: metricIds[0]!,
    value: serde.encode({ metric_id: metricIds[0]!, timestamps: [start + 5_000_000], values: [42] }),
  });
  await produce(records);
});

afterAll(async () => {
  await deleteTopics();
  for (const bucket of buckets) await dropBucket(bucket);
  rmSync(directory, { recursive: true, force: true });
  await database?.drop();
});

describe('granary replay', () => {
  it('recomputes a range of measures into fresh storage prefixes with byte-identical splits, and again over them', async () => {
    const first = await granary(['replay', '--topic', topic, '--into-bucket', buckets[0]!, '--json'], env);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({ topic, records: 24 * metricIds.length + 1, rejected: {} });

    const reference = await compactedObjects(s3Store(buckets[0]!));
    for (const metricId of metricIds) {
      expect([...reference.keys()]).toContain(`${metricId}/none_v3`);
      expect([...reference.keys()].filter((key) => key.startsWith(`${metricId}/mean_60.0_`))).not.toEqual([]);
    }

    expect((await granary(['replay', '--topic', topic, '--into-bucket', buckets[1]!], env)).code).toBe(0);
    expect(await compactedObjects(s3Store(buckets[1]!))).toEqual(reference);

    expect((await granary(['replay', '--topic', topic, '--into-path', directory], env)).code).toBe(0);
    expect(await compactedObjects(new FileObjectStore({ basePath: directory }))).toEqual(reference);

    expect((await granary(['replay', '--topic', topic, '--into-bucket', buckets[0]!], env)).code).toBe(0);
    expect(await compactedObjects(s3Store(buckets[0]!))).toEqual(reference);
  });

  it("replays one partition's range into a fresh prefix: exactly its metrics' objects, byte for byte", async () => {
    const partition = partitionFor(metricIds[0]!, 4);
    const owned = new Set(metricIds.filter((id) => partitionFor(id, 4) === partition));
    const reference = await compactedObjects(s3Store(buckets[0]!));
    const expected = new Map([...reference].filter(([key]) => owned.has(key.split('/')[0]!)));
    const target = join(directory, 'one-partition');

    const { code } = await granary(
      ['replay', '--topic', topic, '--partition', String(partition), '--into-path', target],
      env,
    );

    expect(code).toBe(0);
    expect(await compactedObjects(new FileObjectStore({ basePath: target }))).toEqual(expected);
  });

  it('gives the bytes the running processor writes for the same records', async () => {
    const reference = await compactedObjects(s3Store(buckets[0]!));
    const bucket = `granary-cli-processor-${suffix}`;
    buckets.push(bucket);
    const configFile = join(directory, 'processor.yaml');
    const { kafkaBrokers, schemaRegistryUrl, redisUrl, s3Endpoint } = infra();
    writeFileSync(
      configFile,
      stringify({
        processor: {
          groupId: `granary-cli-test-${suffix}`,
          sessionTimeoutMs: 6000,
          provisionTopics: false,
          createBucket: true,
          checkpoint: { intervalMs: 200 },
          compaction: { intervalMs: 200, minSegments: 1, graceMs: 0 },
        },
        topics: {
          measures: { name: topic, partitions: 4 },
          measuresDeadLetter: { name: `${topic}.dlq`, partitions: 1 },
        },
        kafka: { brokers: kafkaBrokers, clientId: 'granary-cli-tests-processor' },
        schemaRegistry: { url: schemaRegistryUrl },
        database: { url: database.url },
        redis: { url: redisUrl },
        storage: { driver: 's3', s3: { ...S3_CREDENTIALS, endpoint: s3Endpoint, bucket } },
        log: { level: 'warn' },
        admin: { port: 0 },
      }),
    );
    const processor = await startProcessor(
      loadConfig(ProcessorConfigSchema, { file: configFile, env: {} }),
      createLogger('processor', 'warn'),
    );
    const store = s3Store(bucket);
    try {
      const tools = new KafkaTools({ brokers: kafkaBrokers, clientId: 'granary-cli-tests' });
      const ends = await tools.partitionBounds(topic);
      await tools.close();
      // Caught up and compacted: every manifest at its partition's end, with no live segment left.
      const settled = async () => {
        for (const { partition, high } of ends) {
          const manifest = (await readManifest(store, topic, partition))?.manifest;
          if ((manifest?.offset ?? 0) < Number(high) || (manifest?.segments.length ?? 0) > 0) return false;
        }
        return true;
      };
      while (!(await settled())) await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await compactedObjects(s3Store(bucket))).toEqual(reference);
    } finally {
      await processor.stop();
      await store.close();
    }
  });

  it('refuses to write into the storage the processors use (exit 3)', async () => {
    // A bucket name of this test only: a broken refusal must not write into anyone's storage.
    const liveBucket = `granary-cli-live-${suffix}`;
    const liveS3 = { ...env, GRANARY_STORAGE__DRIVER: 's3', GRANARY_STORAGE__S3__BUCKET: liveBucket };
    const intoBucket = await granary(['replay', '--topic', topic, '--into-bucket', liveBucket], liveS3);
    expect(intoBucket.code).toBe(3);
    expect(intoBucket.err).toContain('[CLI_LIVE_STORAGE]');

    const liveFile = {
      ...env,
      GRANARY_STORAGE__DRIVER: 'file',
      GRANARY_STORAGE__FILE__BASE_PATH: join(directory, 'live'),
    };
    const intoPath = await granary(
      ['replay', '--topic', topic, '--into-path', join(directory, 'live')],
      liveFile,
    );
    expect(intoPath.code).toBe(3);
  });
});

describe('granary replay --refeed', () => {
  it('produces the records of the range again onto their topic: same key, bytes, headers and partition', async () => {
    const samples = uniqueName('samples');
    await createTopics(topicSpec(samples, 3));
    await produce([
      { topic: samples, key: 'resource-1', value: Buffer.from('one'), headers: { h: 'x' } },
      { topic: samples, key: null, value: Buffer.from('keyless'), partition: 2 },
    ]);

    const fed = await granary(['replay', '--topic', samples, '--refeed', '--json'], env);

    expect(fed.code).toBe(0);
    expect(JSON.parse(fed.out)).toMatchObject({ mode: 'refeed', topic: samples, records: 2 });
    const dumped = (await granary(['dump', samples], env)).out
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as { partition: number; key: string | null; headers: object; valueBase64: string },
      );
    const summary = dumped.map(({ partition, key, headers, valueBase64 }) => ({
      partition,
      key,
      headers,
      valueBase64,
    }));
    const one = {
      partition: partitionFor('resource-1', 3),
      key: 'resource-1',
      headers: { h: 'x' },
      valueBase64: Buffer.from('one').toString('base64'),
    };
    const keyless = {
      partition: 2,
      key: null,
      headers: {},
      valueBase64: Buffer.from('keyless').toString('base64'),
    };
    expect(summary.filter((r) => r.key !== null)).toEqual([one, one]);
    expect(summary.filter((r) => r.key === null)).toEqual([keyless, keyless]);
  });

  it('needs exactly one mode (exit 2)', async () => {
    expect((await granary(['replay', '--topic', topic], env)).code).toBe(2);
    expect(
      (await granary(['replay', '--topic', topic, '--refeed', '--into-path', directory], env)).code,
    ).toBe(2);
  });
});
