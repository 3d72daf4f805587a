import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@granary/config';
import { BatchingProducer, type ConsumedRecord, createKafkaClient, readDeadLetter } from '@granary/kafka';
import { createLogger } from '@granary/observability';
import { TopicSerde, createSchemaRegistryClient, measureBatchSchema } from '@granary/schema';
import { readManifest } from '@granary/storage';
import { createTestIndex, registerMetrics } from '@granary/testing/database';
import { infra } from '@granary/testing/infra';
import {
  createTopics,
  dropBucket,
  eventually,
  processorConfig,
  s3Store,
  scratchDirectory,
  uniqueSuffix,
} from '@granary/testing/processor-environment';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ProcessorConfigSchema, startProcessor } from '../index.ts';

const suffix = uniqueSuffix();
const topic = `test.processor.poison.${suffix}`;
const bucket = `granary-processor-poison-${suffix}`;
const metricId = '5a1e0000-0000-4000-a000-000000000001';
const T0 = 1_763_700_000_000_000;
let database: Awaited<ReturnType<typeof createTestIndex>>;

beforeAll(async () => {
  database = await createTestIndex({ seed: true });
  await registerMetrics(database.index, [metricId], 'medium');
  await createTopics(topic, 1);
});

afterAll(async () => {
  await database?.drop();
  await dropBucket(bucket);
});

describe('processor past poison records', () => {
  it('dead-letters what cannot be decoded or applied, with its reason, and applies the next record', async () => {
    const kafka = createKafkaClient({ brokers: infra().kafkaBrokers, clientId: 'granary-processor-tests' });
    const serde = await TopicSerde.create(
      createSchemaRegistryClient({ url: infra().schemaRegistryUrl }),
      topic,
      measureBatchSchema,
    );
    const metricIdField = serde
      .encode({ metric_id: metricId, timestamps: [], values: [] })
      .subarray(0, 5 + 37);
    const poison = [
      // timestamps declares 2^40 items: avsc would allocate and loop before noticing the bytes end.
      Buffer.concat([metricIdField, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 2, 4])]),
      // Three timestamps, one value.
      serde.encode({ metric_id: metricId, timestamps: [T0, T0 + 1, T0 + 2], values: [1] }),
    ];
    const records = [
      serde.encode({ metric_id: metricId, timestamps: [T0, T0 + 60_000_000], values: [1, 2] }),
      ...poison,
      serde.encode({ metric_id: metricId, timestamps: [T0 + 120_000_000], values: [3] }),
    ];
    const producer = new BatchingProducer(kafka.createSender());
    await producer.connect();
    await producer.send(records.map((value) => ({ topic, key: metricId, value })));
    await producer.close();

    const file = join(scratchDirectory(), 'processor.yaml');
    const groupId = `processor-poison-${suffix}`;
    writeFileSync(
      file,
      stringify(processorConfig({ topic, bucket, databaseUrl: database.databaseUrl, groupId })),
    );
    const running = await startProcessor(
      loadConfig(ProcessorConfigSchema, { file, env: {} }),
      createLogger('processor-poison', 'silent'),
    );
    const store = s3Store(bucket);
    const letters: ConsumedRecord[] = [];
    const reader = kafka.createConsumer({ groupId: `${groupId}-dlq-reader`, topics: [`${topic}.dlq`] });
    const reading = reader.run(async (batch) => {
      letters.push(...batch.records);
    });
    try {
      await eventually(async () => (await readManifest(store, topic, 0))?.manifest.offset === records.length);
      await eventually(async () => letters.length >= poison.length);
      const reasons = letters.map((letter) => readDeadLetter(letter)!);
      expect(reasons.map(({ sourceOffset, errorCode }) => [sourceOffset, errorCode])).toEqual([
        ['1', 'SCHEMA_CORRUPT_RECORD'],
        ['2', 'PROCESSING_INVALID_MEASURES'],
      ]);
      expect(reasons[0]!.errorMessage).toContain('array block declares 1099511627776 items');
      expect(letters.map((letter) => letter.value)).toEqual(poison);

      // Both good records were applied (three measures), and the consumer is still up.
      const metrics = await (await fetch(`${running.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/granary_processor_measures_applied_total(\{[^}]*\})? 3\n/);
      expect((await fetch(`${running.adminUrl}/healthz`)).status).toBe(200);
    } finally {
      await reader.stop();
      await reading;
      await running.stop();
      await store.close();
    }
    await running.done;
  });
});
