import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiConfigSchema, type RunningApi, startApi } from '@granary/app-api';
import {
  type ProcessorConfig,
  ProcessorConfigSchema,
  type RunningProcessor,
  startProcessor,
} from '@granary/app-processor';
import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import { Kafka, logLevel } from 'kafkajs';
import { infra } from '../infra/endpoints.ts';
import { TEST_USERS_FILE } from '../infra/settings.ts';
import { createTestDatabase } from './database.ts';

/**
 * The API over a real index (a database of its own), measures topics of its own and a filesystem
 * store, plus processors of its own group on demand: what a test needs for measures written through
 * the API to come back through it.
 */
export interface ReadStack {
  api: RunningApi;
  /** The filesystem store's base path. */
  storage: string;
  /** The measures topic (two partitions). */
  topic: string;
  /**
   * A processor checkpointing every `intervalMs`, once it owns the partitions. It compacts every
   * live segment as soon as it can, unless `compaction` is off. The stack stops it with itself.
   */
  startProcessor(intervalMs: number, compaction?: 'eager' | 'off'): Promise<RunningProcessor>;
  stop(): Promise<void>;
}

/** Basic-auth admin headers for JSON requests. */
export const adminHeaders = {
  authorization: `basic ${Buffer.from('admin:').toString('base64')}`,
  'content-type': 'application/json',
};

/** A JSON request to the stack's API as admin: the status and the parsed body (undefined if not JSON). */
export async function callApi(stack: ReadStack, method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.api.url}${path}`, {
    method,
    headers: adminHeaders,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json().catch(() => undefined)) as unknown };
}

export async function until(condition: () => Promise<boolean>, attempts = 120): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await condition()) return;
    await new Promise((done) => setTimeout(done, 500));
  }
  throw new Error('condition not met');
}

/** `name` tells the stack's topics, group and logs apart from other test files'. */
export async function startReadStack(name: string): Promise<ReadStack> {
  const suffix = randomBytes(4).toString('hex');
  const topic = `granary.test.${name}.${suffix}`;
  const deadLetterTopic = `${topic}.dlq`;
  const groupId = `granary-test-${name}-${suffix}`;
  const storage = mkdtempSync(join(tmpdir(), `granary-${name}-`));
  const logger = createLogger(`${name}-int`, 'silent');
  const kafka = new Kafka({
    clientId: `${name}-int-test`,
    brokers: infra().kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const database = await createTestDatabase();
  const processors: RunningProcessor[] = [];
  const environment = {
    DATABASE_URL: database.url,
    KAFKA_BROKERS: infra().kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: infra().schemaRegistryUrl,
    REDIS_URL: infra().redisUrl,
    GRANARY_TOPICS__MEASURES: JSON.stringify({ name: topic, partitions: 2 }),
    GRANARY_TOPICS__MEASURES_DEAD_LETTER: JSON.stringify({ name: deadLetterTopic, partitions: 1 }),
    GRANARY_STORAGE__DRIVER: 'file',
    GRANARY_STORAGE__FILE__BASE_PATH: storage,
    GRANARY_ADMIN__PORT: '0',
  };
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
  const api = await startApi(
    loadConfig(ApiConfigSchema, {
      env: {
        ...environment,
        GRANARY_API__HOST: '127.0.0.1',
        GRANARY_API__AUTH__BASIC__USERS_FILE: TEST_USERS_FILE,
        GRANARY_API__PORT: '0',
        GRANARY_INDEX__SEED: 'defaults',
        GRANARY_MEASURES__PROCESSOR_GROUP_ID: groupId,
      },
    }),
    logger,
  );
  return {
    api,
    storage,
    topic,
    startProcessor: async (intervalMs, compaction = 'off') => {
      const config: ProcessorConfig = loadConfig(ProcessorConfigSchema, {
        env: {
          ...environment,
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
      processors.push(running);
      await until(async () => (await fetch(`${running.adminUrl}/readyz`)).status === 200);
      return running;
    },
    stop: async () => {
      for (const processor of processors) await processor.stop();
      await api.stop();
      await database.drop();
      const cleanup = kafka.admin();
      await cleanup.connect();
      await cleanup.deleteTopics({ topics: [topic, deadLetterTopic] });
      await cleanup.disconnect();
      rmSync(storage, { recursive: true, force: true });
    },
  };
}
