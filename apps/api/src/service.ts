import { BoundedLru } from '@granary/bounded-cache';
import { registerConsole } from '@granary/console';
import {
  RedisRefresher,
  createRedisClient,
  readMemberStatuses,
  warnOnConnectionError,
} from '@granary/coordination';
import { createIndex } from '@granary/index';
import {
  BatchingProducer,
  consumerGroupLags,
  createKafkaClient,
  provisionTopics,
  withTopicAdmin,
} from '@granary/kafka';
import {
  type Instruments,
  type Logger,
  type ServiceHost,
  createRegistry,
  prometheusInstruments,
  startAdminServer,
} from '@granary/observability';
import { type DecodedSplit, StoredMeasureReader, measuresBacklog } from '@granary/reader';
import { type BacklogPort, type MeasureReader, type MeasureWriter, buildApi, indexPort } from '@granary/rest';
import { TopicSerde, createSchemaRegistryClient, measureBatchSchema, measuresWriter } from '@granary/schema';
import { type Segment, createObjectStore } from '@granary/storage';
import type { ApiConfig } from './config.ts';

export interface RunningApi {
  /** Where the REST API listens, e.g. `http://127.0.0.1:8041`. */
  readonly url: string;
  readonly adminUrl: string;
  stop(): Promise<void>;
}

/** The Kafka side of measure writes: a producer and the registered `MeasureBatch` serde. */
async function startMeasureWrites(
  config: ApiConfig,
  logger: Logger,
  instruments: Instruments,
): Promise<{ writer: MeasureWriter; close(): Promise<void> }> {
  const serde = await TopicSerde.create(
    createSchemaRegistryClient(config.schemaRegistry),
    config.topics.measures.name,
    measureBatchSchema,
  );
  const kafka = createKafkaClient(config.kafka, { logger, instruments });
  // Never let the broker auto-create the measures topic on a first write: with its default partition
  // count, metrics would land in partitions the readers (murmur2 over the configured count) never look in.
  await withTopicAdmin(kafka, (admin) => provisionTopics(admin, [config.topics.measures], logger));
  const producer = new BatchingProducer(kafka.createSender(), { logger });
  await producer.connect();
  return {
    writer: measuresWriter(producer, serde, config.topics.measures.name),
    close: () => producer.close(),
  };
}

/**
 * The read side: the object store (compacted splits and live segments), Kafka's offsets for
 * `refresh=true` and the backlog, and Redis for the processors' watermarks (ADR 0011).
 */
async function startMeasureReads(
  config: ApiConfig,
  logger: Logger,
  instruments: Instruments,
): Promise<{ reader: MeasureReader; backlog: BacklogPort; close(): Promise<void> }> {
  const topic = config.topics.measures.name;
  const store = await createObjectStore(config.storage, { instruments });
  const admin = createKafkaClient(config.kafka, { logger }).createAdmin();
  const refresher = new RedisRefresher({
    redis: config.redis,
    topic,
    endOffset: async (partition) => {
      const ends = await admin.endOffsets(topic);
      return Number(ends.find((end) => end.partition === partition)?.offset ?? 0);
    },
    timeoutMs: config.measures.refreshTimeoutMs,
    logger,
  });
  try {
    await admin.connect();
  } catch (err) {
    await Promise.allSettled([refresher.close(), store.close()]);
    throw err;
  }
  refresher
    .ready()
    .catch((err: unknown) =>
      logger.error({ err, topic }, 'redis connection for refresh=true could not be set up'),
    );
  const reader = new StoredMeasureReader({
    store,
    topic,
    partitions: config.topics.measures.partitions,
    segmentCache: new BoundedLru<Segment>(config.measures.segmentCacheBytes),
    splitCache: new BoundedLru<DecodedSplit>(config.measures.splitCacheBytes),
    refresher,
    instruments,
  });
  const statusRedis = createRedisClient(config.redis, {
    role: 'commands',
    lazyConnect: true,
    onError: warnOnConnectionError(logger),
  });
  const backlog: BacklogPort = {
    backlog: () => measuresBacklog({ admin, store, topic, groupId: config.measures.processorGroupId }),
    consumerGroups: () =>
      consumerGroupLags(admin, [
        { groupId: config.measures.processorGroupId, topic },
        { groupId: config.status.ingestGroupId, topic: config.topics.samples.name },
      ]),
    members: () => readMemberStatuses(statusRedis, topic),
  };
  // The API starts without Redis; until it connects, the status shows no members (null).
  statusRedis
    .connect()
    .catch((err: unknown) => logger.warn({ err }, 'redis connection for member statuses failed; retrying'));
  return {
    reader,
    backlog,
    close: async () => {
      statusRedis.disconnect();
      await refresher.close();
      await admin.disconnect();
      await store.close();
    },
  };
}

/**
 * Starts the query service: index (migrated and seeded as configured), measure writes to Kafka
 * (unless disabled), measure reads from object storage, the REST API, and the admin server. Stopping closes them in reverse order.
 */
export async function startApi(
  config: ApiConfig,
  logger: Logger,
  host: ServiceHost = { adminServer: startAdminServer },
): Promise<RunningApi> {
  const registry = createRegistry('api');
  const instruments = prometheusInstruments(registry);
  const index = createIndex({
    databaseUrl: config.database.url,
    maxConnections: config.index.maxConnections,
    logger,
    instruments,
  });
  if (config.api.auth.mode === 'noauth') {
    logger.warn({ component: 'auth' }, 'noauth: any client can claim any identity (X-User-Id, X-Roles)');
  }
  let writes: Awaited<ReturnType<typeof startMeasureWrites>> | undefined;
  let reads: Awaited<ReturnType<typeof startMeasureReads>> | undefined;
  try {
    if (config.index.migrate) await index.migrate();
    await index.seed(config.index.seed);
    writes = config.measures.writes ? await startMeasureWrites(config, logger, instruments) : undefined;
    reads = await startMeasureReads(config, logger, instruments);
    const app = await buildApi(
      {
        index: indexPort(index),
        logger,
        measures: { reader: reads.reader, ...(writes ? { writer: writes.writer } : {}) },
        backlog: reads.backlog,
        instruments,
      },
      config.api,
    );
    registerConsole(app);
    const url = await app.listen({ host: config.api.host, port: config.api.port });
    const admin = await host.adminServer({
      ...config.admin,
      registry,
      logger,
      ready: async () => {
        await index.archivePolicies.list();
        return true;
      },
    });
    logger.info({ url, admin: admin.url }, 'query service listening');
    return {
      url,
      adminUrl: admin.url,
      stop: async () => {
        await admin.close();
        await app.close();
        await writes?.close();
        await reads?.close();
        await index.close();
      },
    };
  } catch (err) {
    await writes?.close();
    await reads?.close();
    await index.close();
    throw err;
  }
}
