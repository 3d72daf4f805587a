import { ProcessorRedis, RebuildDesk, codeCounts, newMemberName } from '@granary/coordination';
import { createIndex } from '@granary/index';
import { BatchingProducer, createKafkaClient, provisionTopics, withTopicAdmin } from '@granary/kafka';
import {
  type Logger,
  type Registry,
  type ServiceHost,
  createRegistry,
  prometheusInstruments,
  startAdminServer,
} from '@granary/observability';
import {
  type CrashPoint,
  NO_FAULTS,
  PolicyCache,
  ProcessingInstruments,
  Processor,
  checkpointPublication,
  countingStore,
  crashAfter,
  indexMetricDirectory,
  runJanitor,
} from '@granary/processing';
import { TopicSerde, createSchemaRegistryClient, measureBatchSchema } from '@granary/schema';
import { createObjectStore } from '@granary/storage';
import type { ProcessorConfig } from './config.ts';

export interface RunningProcessor {
  readonly adminUrl: string;
  readonly registry: Registry;
  /** Settles when the consumer stops: resolves after `stop()`, rejects if it crashed. */
  readonly done: Promise<void>;
  /** Checkpoint everything, leave the group, close every connection. */
  stop(): Promise<void>;
}

const nowUs = () => Date.now() * 1000;

/**
 * Starts a processor: storage, index, registry serde, Redis, the dead-letter producer and the
 * group consumer over the measures topic, plus the timers (checkpoint, compaction, janitor) and
 * the admin server. Partitions are claimed as the group assigns them and released as it revokes.
 */
export async function startProcessor(
  config: ProcessorConfig,
  logger: Logger,
  host: ServiceHost = { adminServer: startAdminServer },
): Promise<RunningProcessor> {
  const settings = config.processor;
  const topic = config.topics.measures.name;
  const registry = createRegistry('processor');
  const exported = prometheusInstruments(registry);
  const instruments = new ProcessingInstruments(exported);
  const rawStore = await createObjectStore(config.storage, {
    createBucket: settings.createBucket,
    instruments: exported,
  });
  logger.info(
    { driver: rawStore.driver, fence: await rawStore.conditionalWriteMechanism() },
    'object store ready; manifest writes are fenced by this mechanism',
  );
  const store = countingStore(rawStore, instruments);
  const index = createIndex({ databaseUrl: config.database.url, maxConnections: 4, instruments: exported });
  const policies = new PolicyCache(indexMetricDirectory(index.metrics));
  const serde = await TopicSerde.create(
    createSchemaRegistryClient(config.schemaRegistry),
    topic,
    measureBatchSchema,
  );
  const redis = new ProcessorRedis(config.redis, topic, logger);
  await redis.connect();

  const kafka = createKafkaClient(config.kafka, { logger, instruments: exported });
  if (settings.provisionTopics) {
    await withTopicAdmin(kafka, (admin) =>
      provisionTopics(admin, [config.topics.measures, config.topics.measuresDeadLetter], logger),
    );
  }
  const deadLetters = new BatchingProducer(kafka.createSender(), { logger });
  await deadLetters.connect();

  const fault = settings.faultInjection;
  const faults = fault
    ? crashAfter(fault.crashAt as CrashPoint, fault.after, () => {
        logger.warn({ crashAt: fault.crashAt, after: fault.after }, 'fault injection: SIGKILL');
        process.kill(process.pid, 'SIGKILL');
      })
    : NO_FAULTS;

  let assignedOnce = false;
  // The callbacks run only once `run` is called, after `processor` exists.
  const consumer = kafka.createConsumer({
    groupId: settings.groupId,
    topics: [topic],
    commit: 'manual',
    sessionTimeoutMs: settings.sessionTimeoutMs,
    onAssigned: async (partitions) => {
      await processor.assign(partitions.map(({ partition }) => partition));
      assignedOnce = true;
    },
    onRevoked: (partitions) => processor.revoke(partitions.map(({ partition }) => partition)),
  });
  const processor = new Processor({
    store,
    topic,
    policies,
    instruments,
    faults,
    logger,
    nowUs,
    settings: {
      loadConcurrency: settings.loadConcurrency,
      compactionConcurrency: settings.compaction.concurrency,
      compactionMaxSegments: settings.compaction.maxSegments,
      maxPendingOffsets: settings.checkpoint.maxPendingOffsets,
      compactionMinSegments: settings.compaction.minSegments,
      compactionGraceMs: settings.compaction.graceMs,
    },
    decode: (values) => serde.decodeAll(values),
    deadLetters,
    deadLetterTopic: config.topics.measuresDeadLetter.name,
    seek: (partition, offset) => consumer.seek({ topic, partition, offset: String(offset) }),
    rangeReader: kafka.createRangeReader(),
    publication: checkpointPublication({
      topic,
      offsets: consumer,
      watermarks: redis,
      failures: instruments.watermarkFailures,
      logger,
    }),
  });

  await redis.onRefresh(({ partition, offset }) => {
    processor
      .refresh(partition, offset)
      .catch((err: unknown) => logger.error({ err, partition }, 'refresh failed'));
  });
  const rebuilds = new RebuildDesk(processor, (status) => redis.publishRebuildStatus(status), logger);
  await redis.onRebuild((request) => {
    rebuilds
      .handle(request)
      .catch((err: unknown) => logger.error({ err, request }, 'rebuild status could not be published'));
  });

  const member = newMemberName();
  const status = redis.statusPublisher(async () => ({
    service: 'processor',
    member,
    at: Date.now(),
    deadLetters: codeCounts(await instruments.deadLetters.readings()),
    droppedTooOld: (await instruments.pointsDroppedTooOld.readings())[0]?.value ?? 0,
    rebuilds: rebuilds.inProgress(),
  }));
  status.start();

  const timers = [
    repeat(settings.checkpoint.intervalMs, () => processor.checkpointAll(), logger, 'checkpoint'),
    repeat(settings.compaction.intervalMs, () => processor.compactDue(), logger, 'compaction'),
    repeat(
      settings.janitor.intervalMs,
      () =>
        runJanitor({
          metrics: index.metrics,
          store,
          processor,
          policies,
          partitionCount: config.topics.measures.partitions,
          batchSize: settings.janitor.batchSize,
          logger,
        }),
      logger,
      'janitor',
    ),
  ];

  let failed: unknown;
  const done = consumer.run((batch) => processor.handleBatch(batch));
  done.catch((err: unknown) => {
    failed = err;
  });
  const admin = await host.adminServer({
    ...config.admin,
    registry,
    logger,
    healthy: () => failed === undefined,
    ready: () => failed === undefined && assignedOnce,
  });
  logger.info({ topic, groupId: settings.groupId, admin: admin.url }, 'processor started');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // The port first, so a replacement can bind it while this one finishes.
      await admin.close();
      for (const timer of timers) timer.cancel();
      await status.stop();
      // Stops fetching, lets the batch in hand finish, revokes every partition (a last checkpoint
      // each, consistent with the offsets it commits) and leaves the group; a compaction in
      // flight meanwhile is not waited for first, so a backlog cannot hold the stop back.
      await consumer.stop();
      await Promise.all(timers.map((timer) => timer.idle()));
      await deadLetters.close();
      await redis.close();
      await index.close();
      await store.close();
    })();
    return stopping;
  };
  return { adminUrl: admin.url, registry, done, stop };
}

/** Runs `work` every `intervalMs`, never two at once; failures are logged and the next run goes on. */
function repeat(intervalMs: number, work: () => Promise<unknown>, logger: Logger, name: string) {
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    running = work()
      .then(
        () => {},
        (err: unknown) => logger.error({ err }, `${name} failed`),
      )
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  return { cancel: () => clearInterval(timer), idle: () => running };
}
