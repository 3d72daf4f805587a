import { readFile } from 'node:fs/promises';
import { MemberStatusPublisher, codeCounts, createRedisClient, newMemberName } from '@granary/coordination';
import { createIndex } from '@granary/index';
import { BatchingProducer, createKafkaClient, provisionTopics, withTopicAdmin } from '@granary/kafka';
import {
  type MeterDefinition,
  NotificationMeters,
  parseMeterDefinitions,
} from '@granary/notification-meters';
import {
  type Logger,
  type Registry,
  type ServiceHost,
  createRegistry,
  prometheusInstruments,
  startAdminServer,
} from '@granary/observability';
import {
  PASS_THROUGH,
  type PipelineDefinition,
  SamplePipeline,
  parsePipelineConfig,
} from '@granary/pipeline';
import {
  GnocchiPublisher,
  MeterMapper,
  MetricResolver,
  RedisCache,
  ensureCeilometerSetup,
  parseResourceDefinitions,
  publisherErrors,
} from '@granary/publisher';
import {
  TopicSerde,
  createSchemaRegistryClient,
  measureBatchSchema,
  measuresWriter,
  sampleSchema,
} from '@granary/schema';
import { checkTelemetrySecret } from '@granary/telemetry';
import type { IngestConfig } from './config.ts';
import { ingestErrors } from './errors.ts';
import { Ingestor } from './ingestor.ts';
import { createIngestMetrics } from './metrics.ts';
import { type UdpInputs, startUdpInputs } from './udp.ts';

/** The resource definitions shipped with Granary (master's plus the hardware host types). */
export const DEFAULT_RESOURCES_DEFINITION_FILE = new URL('../config/gnocchi_resources.yaml', import.meta.url);
/** Granary's meters.yaml: the meters of Ceilometer's notification agent (docs/adr/0021). */
export const DEFAULT_METERS_FILE = new URL('../config/meters.yaml', import.meta.url);

export interface RunningIngest {
  readonly adminUrl: string;
  readonly registry: Registry;
  /** Where the enabled UDP inputs listen. */
  readonly udp: UdpInputs['addresses'];
  /** Settles when the consumer stops: resolves after `stop()`, rejects if it crashed. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

async function readText(file: string | URL, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw publisherErrors('PUBLISHER_DEFINITIONS_INVALID', `cannot read the ${what} ${String(file)}`, {
      cause,
    });
  }
}

async function loadPipeline(file: string, logger: Logger): Promise<PipelineDefinition> {
  if (!file) return PASS_THROUGH;
  const definition = parsePipelineConfig(await readText(file, 'pipeline file'), file);
  for (const sink of definition.sinks) {
    for (const publisher of sink.publishers) {
      // Mitaka's notifier:// fed the collector, whose dispatcher wrote to Gnocchi: the same place.
      if (publisher.scheme === 'notifier')
        logger.warn({ sink: sink.name, url: publisher.url }, 'notifier:// publishes to Gnocchi in Granary');
      else if (publisher.scheme !== 'gnocchi')
        throw ingestErrors(
          'INGEST_UNSUPPORTED_PUBLISHER',
          `${file}: sink '${sink.name}' publishes to ${publisher.url}; Granary has gnocchi:// only`,
        );
    }
  }
  return definition;
}

/** meters.yaml, its refused entries logged and skipped as Ceilometer does. */
async function loadMeterDefinitions(file: string, logger: Logger): Promise<readonly MeterDefinition[]> {
  const origin = file || DEFAULT_METERS_FILE;
  const { definitions, skipped } = parseMeterDefinitions(
    await readText(origin, 'meters file'),
    String(origin),
  );
  for (const { name, problem } of skipped)
    logger.error({ meter: name, file: String(origin), problem }, 'meter definition skipped');
  return definitions;
}

/**
 * Starts ingest: definitions and pipeline checked first, then the index set up as Ceilometer
 * does (its archive policies and resource types when missing), the topics, Redis, the producer
 * and the group consumer over granary.samples and Ceilometer's notifications.
 */
export async function startIngest(
  config: IngestConfig,
  logger: Logger,
  host: ServiceHost = { adminServer: startAdminServer },
): Promise<RunningIngest> {
  const settings = config.ingest;
  if (
    checkTelemetrySecret(settings.telemetrySecret, settings.allowPlaceholderSecret, 'ingest.telemetrySecret')
  )
    logger.warn(
      "ingest.telemetrySecret is Ceilometer's public placeholder: anyone can forge samples (development only)",
    );
  const registry = createRegistry('ingest');
  const exported = prometheusInstruments(registry);
  const metrics = createIngestMetrics(exported);
  const definitionsFile = settings.resourcesDefinitionFile || DEFAULT_RESOURCES_DEFINITION_FILE;
  const definitions = parseResourceDefinitions(
    await readText(definitionsFile, 'resource definitions'),
    String(definitionsFile),
  );
  const pipeline = new SamplePipeline(await loadPipeline(settings.pipelineFile, logger), {
    onFailure: (error, context) => {
      metrics.rejected.inc({ reason: error.code });
      logger.warn(
        { err: error, code: error.code, ...context },
        'transformer refused a sample; it goes no further',
      );
    },
  });

  const index = createIndex({
    databaseUrl: config.database.url,
    maxConnections: settings.indexConnections,
    instruments: exported,
  });
  const setup = await ensureCeilometerSetup(index, definitions);
  logger.info(setup, 'Ceilometer archive policies and resource types present in the index');

  const notificationTopics = settings.notifications.enabled ? settings.notifications.topics : [];
  const notificationMeters = new NotificationMeters(
    settings.notifications.enabled
      ? await loadMeterDefinitions(settings.notifications.metersFile, logger)
      : [],
  );
  const inputs = [
    config.topics.samples,
    ...(settings.oslo.enabled ? [settings.oslo.topic] : []),
    ...notificationTopics,
  ];
  const kafka = createKafkaClient(config.kafka, { logger, instruments: exported });
  if (settings.provisionTopics) {
    await withTopicAdmin(kafka, (admin) =>
      provisionTopics(admin, [...inputs, config.topics.measures, config.topics.samplesDeadLetter], logger),
    );
  }
  const registryClient = createSchemaRegistryClient(config.schemaRegistry);
  // Registering is idempotent, and lets ingest start before the first poller on a fresh machine.
  const samples = await TopicSerde.create(registryClient, config.topics.samples.name, sampleSchema);
  const measures = await TopicSerde.create(registryClient, config.topics.measures.name, measureBatchSchema);

  let redisHealthy = true;
  const cache = new RedisCache(config.redis.url, settings.cache.redisKeyPrefix, (err) => {
    // ioredis reports every reconnection attempt: log the transition only.
    if (redisHealthy) logger.warn({ err }, 'redis unavailable; the index answers meanwhile');
    redisHealthy = false;
  });
  await cache.connect().catch((err: unknown) => logger.warn({ err }, 'redis not reachable at start'));
  const resolver = new MetricResolver(index, {
    creator: settings.creator,
    shared: cache,
    memoryEntries: settings.cache.memoryEntries,
    sharedTtlSeconds: settings.cache.redisTtlSeconds,
    concurrency: settings.indexConcurrency,
    onLookup: (outcome) => metrics.cacheLookups.inc({ outcome }),
    onSharedCacheError: () => metrics.sharedCacheErrors.inc(),
  });

  const producer = new BatchingProducer(kafka.createSender(), { logger });
  await producer.connect();
  const ingestor = new Ingestor({
    samplesTopic: config.topics.samples.name,
    notificationTopics: new Set(notificationTopics.map((t) => t.name)),
    notificationMeters,
    deadLetterTopic: config.topics.samplesDeadLetter.name,
    telemetrySecret: settings.telemetrySecret,
    samples,
    measures: measuresWriter(producer, measures, config.topics.measures.name),
    pipeline,
    publisher: new GnocchiPublisher(new MeterMapper(definitions), resolver),
    send: (records) => producer.send(records),
    metrics,
    logger,
  });

  const udp = await startUdpInputs(settings.udp, { ingestor, index, metrics, logger });

  // Offsets are committed after each handled batch, and a batch is handled once its measures and
  // dead letters are acknowledged: the at-least-once order the measures topic relies on.
  const consumer = kafka.createConsumer({
    groupId: settings.groupId,
    topics: inputs.map((t) => t.name),
    sessionTimeoutMs: settings.sessionTimeoutMs,
  });
  let failed: unknown;
  const done = consumer.run((batch) => ingestor.handle(batch));
  // Logged by whoever runs the service (runService), which also decides whether to restart.
  done.catch((err: unknown) => {
    failed = err;
  });
  // Its dead letters by code for the console: ingest drops no points and runs no rebuilds.
  const statusRedis = createRedisClient(config.redis, {
    role: 'commands',
    lazyConnect: true,
    // Every lost connection shows as a failed write, which the publisher logs once per outage.
    onError: () => {},
  });
  // Commands are not queued: connect first, so the first status is not refused for being early.
  await statusRedis
    .connect()
    .catch((err: unknown) => logger.warn({ err }, 'redis not reachable at start; member status retries'));
  const member = newMemberName();
  const status = new MemberStatusPublisher(
    statusRedis,
    config.topics.measures.name,
    async () => ({
      service: 'ingest',
      member,
      at: Date.now(),
      deadLetters: codeCounts(await metrics.deadLetters.readings()),
      droppedTooOld: 0,
      rebuilds: [],
    }),
    logger,
  );
  status.start();
  const admin = await host.adminServer({
    ...config.admin,
    registry,
    logger,
    healthy: () => failed === undefined,
    ready: () => failed === undefined && consumer.assignment().length > 0,
  });
  logger.info(
    {
      topics: inputs.map((t) => t.name),
      groupId: settings.groupId,
      admin: admin.url,
      signed: !!settings.telemetrySecret,
    },
    'ingest started',
  );

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await admin.close();
      await status.stop();
      statusRedis.disconnect();
      await consumer.stop();
      await udp.stop();
      await producer.close();
      await cache.close();
      await index.close();
    })();
    return stopping;
  };
  return { adminUrl: admin.url, registry, udp: udp.addresses, done, stop };
}
