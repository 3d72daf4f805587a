import { createIndex } from '@granary/index';
import { BatchingProducer, createKafkaClient } from '@granary/kafka';
import { type Logger, createRegistry, startAdminServer } from '@granary/observability';
import { type MeasureWriter, buildApi, indexPort, kafkaMeasureWriter } from '@granary/rest';
import { TopicSerde, createSchemaRegistryClient, measureBatchSchema } from '@granary/schema';
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
): Promise<{ writer: MeasureWriter; close(): Promise<void> }> {
  const serde = await TopicSerde.create(
    createSchemaRegistryClient(config.schemaRegistry),
    config.topics.measures.name,
    measureBatchSchema,
  );
  const producer = new BatchingProducer(createKafkaClient(config.kafka, { logger }).createSender(), {
    logger,
  });
  await producer.connect();
  return {
    writer: kafkaMeasureWriter(producer, serde, config.topics.measures.name),
    close: () => producer.close(),
  };
}

/**
 * Starts the query service: index (migrated and seeded as configured), measure writes to Kafka
 * (unless disabled), the REST API, and the admin server. Stopping closes them in reverse order.
 */
export async function startApi(config: ApiConfig, logger: Logger): Promise<RunningApi> {
  const index = createIndex({
    databaseUrl: config.database.url,
    maxConnections: config.index.maxConnections,
    logger,
  });
  let writes: Awaited<ReturnType<typeof startMeasureWrites>> | undefined;
  try {
    if (config.index.migrate) await index.migrate();
    await index.seed(config.index.seed);
    writes = config.measures.writes ? await startMeasureWrites(config, logger) : undefined;
    const app = await buildApi(
      { index: indexPort(index), logger, ...(writes ? { measures: { writer: writes.writer } } : {}) },
      config.api,
    );
    const url = await app.listen({ host: config.api.host, port: config.api.port });
    const admin = await startAdminServer({
      ...config.admin,
      registry: createRegistry('api'),
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
        await index.close();
      },
    };
  } catch (err) {
    await writes?.close();
    await index.close();
    throw err;
  }
}
