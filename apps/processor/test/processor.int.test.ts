import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetricSeries, decodeSplit, encodeRawTail } from '@granary/carbonara';
import { loadConfig } from '@granary/config';
import { REFRESH_CHANNEL, encodeRefreshRequest, watermarkKey } from '@granary/coordination';
import { createKafkaClient } from '@granary/kafka';
import { createLogger } from '@granary/observability';
import { compilePolicy } from '@granary/processing';
import { parseSplitObjectKey, rawTailKey, readManifest } from '@granary/storage';
import { createTestIndex, registerMetrics } from '@granary/testing/database';
import { infra } from '@granary/testing/infra';
import { compactedObjects } from '@granary/testing/object-store';
import {
  compactEverything,
  createTopics,
  dropBucket,
  endOffsets,
  eventually,
  processorConfig,
  produce,
  s3Store,
  scratchDirectory,
  uniqueSuffix,
} from '@granary/testing/processor-environment';
import { MEDIUM, generateStream } from '@granary/testing/stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ProcessorConfigSchema, startProcessor } from '../index.ts';

const suffix = uniqueSuffix();
const topic = `test.processor.${suffix}`;
const bucket = `granary-processor-${suffix}`;
const PARTITIONS = 4;
const { metricIds, batches } = generateStream({
  seed: 11,
  metrics: 60,
  batchesPerMetric: 8,
  measuresPerBatch: 10,
  stepUs: 15_000_000,
  lateShare: 0.1,
});
const known = metricIds.slice(0, 50);
const unknown = new Set(metricIds.slice(50));
let database: Awaited<ReturnType<typeof createTestIndex>>;

beforeAll(async () => {
  database = await createTestIndex({ seed: true });
  await registerMetrics(database.index, known, 'medium');
  await createTopics(topic, PARTITIONS);
  await produce(topic, batches, [Buffer.from('not avro at all')]);
});

afterAll(async () => {
  await database?.drop();
  await dropBucket(bucket);
});

describe('processor, end to end through Kafka, the registry, PostgreSQL, Redis and S3Proxy', () => {
  it('applies, checkpoints, commits, publishes watermarks, dead-letters, refreshes, and compacts into Gnocchi splits', async () => {
    const directory = scratchDirectory();
    const file = join(directory, 'processor.yaml');
    writeFileSync(
      file,
      stringify(
        processorConfig({
          topic,
          bucket,
          databaseUrl: database.databaseUrl,
          groupId: `processor-it-${suffix}`,
          processor: { checkpoint: { intervalMs: 60_000, maxPendingOffsets: 100_000 } },
        }),
      ),
    );
    const config = loadConfig(ProcessorConfigSchema, { file, env: {} });
    const running = await startProcessor(config, createLogger('processor-it', 'warn'));
    const ends = await endOffsets(topic);
    const redis = new Redis(infra().redisUrl);
    try {
      await eventually(async () => (await fetch(`${running.adminUrl}/readyz`)).status === 200);
      // The checkpoint interval is a minute: only refresh requests make the state fresh here.
      const watermarks = async () =>
        new Map(
          await Promise.all(
            [...ends.keys()].map(
              async (partition) =>
                [partition, Number(await redis.get(watermarkKey(topic, partition)))] as const,
            ),
          ),
        );
      await eventually(async () => {
        for (const [partition, end] of ends) {
          await redis.publish(REFRESH_CHANNEL, encodeRefreshRequest({ topic, partition, offset: end }));
        }
        const marks = await watermarks();
        return [...ends].every(([partition, end]) => (marks.get(partition) as number) >= end);
      }, 500);
      expect(await watermarks()).toEqual(ends);

      const metrics = await (await fetch(`${running.adminUrl}/metrics`)).text();
      for (const name of [
        'granary_processor_consumer_lag',
        'granary_processor_measures_applied_total',
        'granary_processor_checkpoint_duration_seconds',
        'granary_processor_object_writes_total',
        'granary_processor_metrics_in_memory',
        'granary_process_resident_memory_bytes',
      ]) {
        expect(metrics).toContain(name);
      }
      expect(metrics).toMatch(/granary_processor_dead_letters_total\{code="PROCESSING_UNKNOWN_METRIC"/);
      expect(metrics).toMatch(/granary_processor_dead_letters_total\{code="SCHEMA_CORRUPT_RECORD"/);
    } finally {
      await running.stop();
      await redis.quit();
    }
    await running.done;

    const store = s3Store(bucket);
    const kafka = createKafkaClient({ brokers: infra().kafkaBrokers, clientId: 'granary-processor-tests' });
    const admin = kafka.createAdmin();
    await admin.connect();
    const committed = await admin.committedOffsets(`processor-it-${suffix}`, topic);
    await admin.disconnect();
    for (const [partition, end] of ends) {
      expect((await readManifest(store, topic, partition))?.manifest.offset).toBe(end);
      expect(committed.find((entry) => entry.partition === partition)?.offset).toBe(String(end));
    }

    await compactEverything(store, topic, PARTITIONS, database.index);
    const objects = await compactedObjects(store);
    const compiled = compilePolicy(MEDIUM);
    for (const metricId of metricIds) {
      if (unknown.has(metricId)) {
        expect([...objects.keys()].filter((key) => key.startsWith(metricId))).toEqual([]);
        continue;
      }
      const series = new MetricSeries(compiled.policy);
      for (const batch of batches)
        if (batch.metricId === metricId) series.apply(batch.timestamps, batch.values);
      expect(objects.get(rawTailKey(metricId))).toEqual(Buffer.from(encodeRawTail(series.rawTail())));
      for (const { method, granularity } of compiled.policy.aggregations) {
        const stored = [...objects].flatMap(([key, bytes]) => {
          const split = parseSplitObjectKey(key);
          if (split?.metricId !== metricId || split.method !== method || split.granularityUs !== granularity)
            return [];
          const points = decodeSplit(split.splitKeyUs, granularity, bytes);
          if (points instanceof Error) throw points;
          return [...points.timestamps].map((ts, i) => [ts, points.values[i]]);
        });
        const expected = series.points(method, granularity);
        expect(stored).toEqual([...expected.timestamps].map((ts, i) => [ts, expected.values[i]]));
      }
    }
    await store.close();
  });
});
