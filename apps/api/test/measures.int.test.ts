import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ProcessorConfig,
  ProcessorConfigSchema,
  type RunningProcessor,
  startProcessor,
} from '@granary/app-processor';
import { loadConfig } from '@granary/config';
import { partitionFor } from '@granary/kafka';
import { createLogger } from '@granary/observability';
import { FileObjectStore, listSplitKeys, readManifest } from '@granary/storage';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../libs/rest/test/database.ts';
import { infra } from '../../../test/infra/endpoints.ts';
import { ApiConfigSchema, type RunningApi, startApi } from '../index.ts';

/**
 * Measures written through the API come back through it: a real processor consumes them from
 * Kafka and checkpoints to the filesystem store the API reads, watermarks go through Redis.
 */

const suffix = randomBytes(4).toString('hex');
const topic = `granary.test.api-reads.${suffix}`;
const deadLetterTopic = `${topic}.dlq`;
const groupId = `granary-test-api-reads-${suffix}`;
const storage = mkdtempSync(join(tmpdir(), 'granary-api-reads-'));
const logger = createLogger('api-reads-int', 'silent');
const kafka = new Kafka({
  clientId: 'api-reads-int-test',
  brokers: infra().kafkaBrokers,
  logLevel: logLevel.NOTHING,
});

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let api: RunningApi;
let processor: RunningProcessor | undefined;

const environment = () => ({
  DATABASE_URL: database.url,
  KAFKA_BROKERS: infra().kafkaBrokers.join(','),
  SCHEMA_REGISTRY_URL: infra().schemaRegistryUrl,
  REDIS_URL: infra().redisUrl,
  GRANARY_TOPICS__MEASURES: JSON.stringify({ name: topic, partitions: 2 }),
  GRANARY_TOPICS__MEASURES_DEAD_LETTER: JSON.stringify({ name: deadLetterTopic, partitions: 1 }),
  GRANARY_STORAGE__DRIVER: 'file',
  GRANARY_STORAGE__FILE__BASE_PATH: storage,
  GRANARY_ADMIN__PORT: '0',
});

/**
 * A processor of the test's group checkpointing every `intervalMs`, once it owns the partitions.
 * It compacts every live segment as soon as it can, unless `compaction` is off.
 */
async function processorWithCheckpointEvery(
  intervalMs: number,
  compaction: 'eager' | 'off' = 'off',
): Promise<RunningProcessor> {
  const config: ProcessorConfig = loadConfig(ProcessorConfigSchema, {
    env: {
      ...environment(),
      GRANARY_PROCESSOR__GROUP_ID: groupId,
      GRANARY_PROCESSOR__SESSION_TIMEOUT_MS: '6000',
      GRANARY_PROCESSOR__CHECKPOINT__INTERVAL_MS: String(intervalMs),
      ...(compaction === 'eager'
        ? {
            GRANARY_PROCESSOR__COMPACTION__INTERVAL_MS: '200',
            GRANARY_PROCESSOR__COMPACTION__MIN_SEGMENTS: '1',
            GRANARY_PROCESSOR__COMPACTION__GRACE_MS: '0',
          }
        : { GRANARY_PROCESSOR__COMPACTION__INTERVAL_MS: '3600000' }),
    },
  });
  const running = await startProcessor(config, logger);
  await until(async () => (await fetch(`${running.adminUrl}/readyz`)).status === 200);
  return running;
}

async function until(condition: () => Promise<boolean>, attempts = 120): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await condition()) return;
    await new Promise((done) => setTimeout(done, 500));
  }
  throw new Error('condition not met');
}

beforeAll(async () => {
  database = await createTestDatabase();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 2 },
      { topic: deadLetterTopic, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const config = loadConfig(ApiConfigSchema, {
    env: {
      ...environment(),
      GRANARY_API__HOST: '127.0.0.1',
      GRANARY_API__PORT: '0',
      GRANARY_INDEX__SEED: 'defaults',
      GRANARY_MEASURES__PROCESSOR_GROUP_ID: groupId,
    },
  });
  api = await startApi(config, logger);
});
afterAll(async () => {
  await processor?.stop();
  await api?.stop();
  await database?.drop();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic, deadLetterTopic] });
  await admin.disconnect();
  rmSync(storage, { recursive: true, force: true });
});

const headers = {
  authorization: `basic ${Buffer.from('admin:').toString('base64')}`,
  'content-type': 'application/json',
};

async function createMetric(): Promise<string> {
  const created = await fetch(`${api.url}/v1/metric`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ archive_policy_name: 'high' }),
  });
  expect(created.status).toBe(201);
  return ((await created.json()) as { id: string }).id;
}

async function postMeasures(metricId: string, measures: { timestamp: string; value: number }[]) {
  const posted = await fetch(`${api.url}/v1/metric/${metricId}/measures`, {
    method: 'POST',
    headers,
    body: JSON.stringify(measures),
  });
  expect(posted.status).toBe(202);
}

const measuresOf = async (metricId: string, query: string) => {
  const response = await fetch(`${api.url}/v1/metric/${metricId}/measures?granularity=1&${query}`, {
    headers,
  });
  return { status: response.status, body: (await response.json()) as unknown };
};

describe('measures read through the API', () => {
  it('answers [] for a metric never written', async () => {
    expect(await measuresOf(await createMetric(), '')).toEqual({ status: 200, body: [] });
  });

  it('with refresh=true, reads a measure just written, which the checkpoint timer would not have stored yet', async () => {
    processor = await processorWithCheckpointEvery(3_600_000);
    const metricId = await createMetric();
    await postMeasures(metricId, [
      { timestamp: '2024-05-01T12:00:00Z', value: 4 },
      { timestamp: '2024-05-01T12:00:01Z', value: 6 },
    ]);
    expect(await measuresOf(metricId, 'refresh=true')).toEqual({
      status: 200,
      body: [
        ['2024-05-01T12:00:00+00:00', 1, 4],
        ['2024-05-01T12:00:01+00:00', 1, 6],
      ],
    });
    const status = (await (await fetch(`${api.url}/v1/status`, { headers })).json()) as {
      storage: { summary: { measures: number } };
    };
    expect(status.storage.summary.measures).toBe(0);
  });

  it('without refresh, reads a measure once the next timer checkpoint stored it', async () => {
    await processor?.stop();
    processor = await processorWithCheckpointEvery(500, 'eager');
    const metricId = await createMetric();
    await postMeasures(metricId, [{ timestamp: '2024-05-01T13:00:00Z', value: 42 }]);
    let read: Awaited<ReturnType<typeof measuresOf>> | undefined;
    await until(async () => {
      read = await measuresOf(metricId, '');
      return Array.isArray(read.body) && read.body.length > 0;
    });
    expect(read).toEqual({ status: 200, body: [['2024-05-01T13:00:00+00:00', 1, 42]] });
  });

  it('reads the same once compaction folded the live segments into Gnocchi splits', async () => {
    const metricId = await createMetric();
    const measures = [
      { timestamp: '2024-05-01T14:00:00Z', value: 1 },
      { timestamp: '2024-05-01T14:00:30Z', value: 3 },
    ];
    await postMeasures(metricId, measures);
    const fresh = await measuresOf(metricId, 'refresh=true');
    const store = new FileObjectStore({ basePath: storage });
    const partition = partitionFor(metricId, 2);
    await until(async () => {
      const current = await readManifest(store, topic, partition);
      const splits = await listSplitKeys(store, metricId, 'mean', 1_000_000);
      return current?.manifest.segments.length === 0 && splits.length > 0;
    });
    expect(await measuresOf(metricId, '')).toEqual(fresh);
    expect(fresh.body).toEqual([
      ['2024-05-01T14:00:00+00:00', 1, 1],
      ['2024-05-01T14:00:30+00:00', 1, 3],
    ]);
    const coarse = await fetch(`${api.url}/v1/metric/${metricId}/measures?granularity=60`, { headers });
    expect(await coarse.json()).toEqual([['2024-05-01T14:00:00+00:00', 60, 2]]);
  });
});
