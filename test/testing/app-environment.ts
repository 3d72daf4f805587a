import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiConfig, ApiConfigSchema } from '@granary/app-api';
import { type ProcessorConfig, ProcessorConfigSchema } from '@granary/app-processor';
import { loadConfig } from '@granary/config';
import { createKafkaClient, provisionTopics } from '@granary/kafka';
import type { Static, TSchema } from '@sinclair/typebox';
import type { InfraEndpoints } from '../infra/endpoints.ts';
import { TEST_USERS_FILE } from '../infra/settings.ts';
import { createDatabase } from './postgres.ts';

/** The services an environment's apps talk to: the test infrastructure's, or a bench's from its config. */
export type AppEndpoints = Omit<InfraEndpoints, 's3Endpoint'>;

/** A bench's endpoints, from an app's configuration loaded from the environment (`.granary/infra.env`). */
export function endpointsOf(config: {
  kafka: { brokers: string[] };
  schemaRegistry: { url: string };
  database: { url: string };
  redis: { url: string };
}): AppEndpoints {
  return {
    kafkaBrokers: config.kafka.brokers,
    schemaRegistryUrl: config.schemaRegistry.url,
    databaseUrl: config.database.url,
    redisUrl: config.redis.url,
  };
}

/**
 * Apps started in one process (a test's or a bench's) with their production wiring, on topics, a
 * database and a file store of their own. No vitest here: benches use it as well as tests.
 */
export interface AppEnvironment {
  readonly suffix: string;
  /** The four topics, named `<prefix>.<suffix>.<topic>`, created at the start and deleted by `stop`. */
  readonly topics: {
    samples: AppTopic;
    measures: AppTopic;
    samplesDeadLetter: AppTopic;
    measuresDeadLetter: AppTopic;
  };
  /** A topic spec named like the environment's four; not created here (the app that uses it does). */
  topic(name: string, partitions: number): AppTopic;
  /** Database and Redis settings, for the apps that have them. */
  readonly shared: { database: { url: string }; redis: { url: string } };
  /** A file store under the environment's folder, for the apps that have one. */
  readonly storage: { driver: 'file'; file: { basePath: string } };
  /**
   * An app's configuration, written to a file and read as in production (no environment): Kafka,
   * the registry, the topics, logging and an admin server on a free port, with `own` on top.
   */
  configOf<S extends TSchema>(schema: S, app: string, own: Record<string, unknown>): Static<S>;
  /**
   * The API's: the environment's database, Redis and store, on 127.0.0.1 and a free port, the test
   * users (admin, empty password), reading what the processors of `measures.processorGroupId`
   * checkpoint.
   */
  apiConfig(
    measures: { processorGroupId: string; [setting: string]: unknown },
    own?: Record<string, unknown>,
  ): ApiConfig;
  /** A processor's (`app` names its file), with the environment's database, Redis and store. */
  processorConfig(app: string, processor: Record<string, unknown>): ProcessorConfig;
  /** Deletes the topics, drops the database and removes the folder. */
  stop(): Promise<void>;
}

export interface AppTopic {
  name: string;
  partitions: number;
  replicationFactor: 1;
  retentionMs: number;
  cleanupPolicy: 'delete';
}

export interface AppEnvironmentOptions {
  /** Begins the topic names (`e2e`, `bench.api`, …). */
  topicPrefix: string;
  measuresPartitions: number;
  samplesPartitions?: number;
}

/** `name` tells the environment's database, folder, client ids and logs apart from others'. */
export async function createAppEnvironment(
  name: string,
  endpoints: AppEndpoints,
  options: AppEnvironmentOptions,
): Promise<AppEnvironment> {
  const suffix = randomBytes(4).toString('hex');
  const work = mkdtempSync(join(tmpdir(), `granary-${name}-`));
  const topic = (topicName: string, partitions: number): AppTopic => ({
    name: `${options.topicPrefix}.${suffix}.${topicName}`,
    partitions,
    replicationFactor: 1,
    retentionMs: 3_600_000,
    cleanupPolicy: 'delete',
  });
  const topics = {
    samples: topic('samples', options.samplesPartitions ?? 1),
    measures: topic('measures', options.measuresPartitions),
    samplesDeadLetter: topic('samples.dlq', 1),
    measuresDeadLetter: topic('measures.dlq', 1),
  };
  const kafkaAdmin = () =>
    createKafkaClient({ brokers: endpoints.kafkaBrokers, clientId: `${name}-admin` }).createAdmin();
  // Before any app produces: the broker would otherwise auto-create a topic with one partition.
  const admin = kafkaAdmin();
  await admin.connect();
  try {
    await provisionTopics(admin, Object.values(topics));
  } finally {
    await admin.disconnect();
  }
  const database = await createDatabase(
    endpoints.databaseUrl,
    `granary_${name.replaceAll('-', '_')}_${suffix}`,
  );
  const shared = { database: { url: database.url }, redis: { url: endpoints.redisUrl } };
  const storage = { driver: 'file' as const, file: { basePath: join(work, 'storage') } };
  const configOf = <S extends TSchema>(schema: S, app: string, own: Record<string, unknown>): Static<S> => {
    const common = {
      kafka: { brokers: endpoints.kafkaBrokers, clientId: `${name}-${app}` },
      schemaRegistry: { url: endpoints.schemaRegistryUrl },
      topics,
      log: { level: 'warn' },
      admin: { host: '127.0.0.1', port: 0 },
    };
    const file = join(work, `${app}.yaml`);
    // JSON is YAML.
    writeFileSync(file, JSON.stringify({ ...common, ...own }));
    return loadConfig(schema, { file, env: {} });
  };
  return {
    suffix,
    topics,
    topic,
    shared,
    storage,
    configOf,
    apiConfig: (measures, own = {}) =>
      configOf(ApiConfigSchema, 'api', {
        ...shared,
        storage,
        api: { host: '127.0.0.1', port: 0, auth: { basic: { usersFile: TEST_USERS_FILE } } },
        measures,
        ...own,
      }),
    processorConfig: (app, processor) =>
      configOf(ProcessorConfigSchema, app, { ...shared, storage, processor }),
    stop: async () => {
      const cleanup = kafkaAdmin();
      try {
        await cleanup.connect();
        await cleanup.deleteTopics(Object.values(topics).map((spec) => spec.name));
      } finally {
        await cleanup.disconnect();
        await database.drop();
        rmSync(work, { recursive: true, force: true });
      }
    },
  };
}
