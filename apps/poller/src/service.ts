import { randomUUID } from 'node:crypto';
import { unwatchFile, watchFile } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { GranaryError } from '@granary/errors';
import { BatchingProducer, createKafkaClient, provisionTopics } from '@granary/kafka';
import {
  type AdminServer,
  Counter,
  type Logger,
  type Registry,
  createRegistry,
  startAdminServer,
} from '@granary/observability';
import {
  type Discovery,
  type DynamicPollsterDefinition,
  type PollingConfig,
  PollingScheduler,
  type Pollster,
  type SnmpMeterDefinition,
  createDynamicPollster,
  createHostPollsters,
  createPollingMetrics,
  createPrometheusPollster,
  createSnmpPollsters,
  defaultSnmpDefinitions,
  endpointDiscovery,
  loadPollingConfig,
  localNodeDiscovery,
  parseDynamicPollsterDefinitions,
  parseSnmpDefinitions,
  pollingErrors,
  urlDiscovery,
} from '@granary/polling';
import { TopicSerde, createSchemaRegistryClient, sampleSchema } from '@granary/schema';
import type { PollerConfig } from './config.ts';
import { type Coordination, joinCoordination } from './coordination.ts';
import { SamplePublisher } from './publisher.ts';

export interface Poller {
  readonly adminUrl: string;
  readonly replicaId: string;
  /** Partitions of the coordination topic this replica owns (empty without coordination). */
  ownedPartitions(): number[];
  /** Re-read polling.yaml; a bad file is logged and the running configuration kept (false). */
  reload(): Promise<boolean>;
  /** Finish the cycles in flight, deliver their samples, leave the group, close. */
  stop(): Promise<void>;
}

/** Ceilometer's `pollsters_definitions_dirs`: every `*.yaml`, in sorted order; the first of a name wins. */
async function loadDynamicPollsters(directories: readonly string[]): Promise<Pollster[]> {
  const definitions = new Map<string, DynamicPollsterDefinition>();
  for (const directory of directories) {
    let files: string[];
    try {
      files = (await readdir(directory)).filter((f) => f.endsWith('.yaml')).sort();
    } catch (cause) {
      throw pollingErrors('POLLING_DEFINITIONS_INVALID', `cannot list ${directory}`, { cause });
    }
    for (const file of files) {
      const path = join(directory, file);
      for (const definition of parseDynamicPollsterDefinitions(await readFile(path, 'utf8'), path)) {
        if (!definitions.has(definition.name)) definitions.set(definition.name, definition);
      }
    }
  }
  return [...definitions.values()].map(createDynamicPollster);
}

async function loadSnmpDefinitions(file: string): Promise<SnmpMeterDefinition[]> {
  if (!file) return defaultSnmpDefinitions();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw pollingErrors('POLLING_DEFINITIONS_INVALID', `cannot read ${file}`, { cause });
  }
  return parseSnmpDefinitions(text, file);
}

/** Start the poller: everything it needs is checked before the first poll, so a bad start fails fast. */
export async function startPoller(
  config: PollerConfig,
  logger: Logger,
  options: { registry?: Registry } = {},
): Promise<Poller> {
  const settings = config.poller;
  const replicaId = `${settings.host || hostname()}-${randomUUID().slice(0, 8)}`;
  let pollingConfig: PollingConfig = await loadPollingConfig(settings.pollingFile);
  const pollsters: Pollster[] = [
    ...createHostPollsters(),
    ...createSnmpPollsters(await loadSnmpDefinitions(settings.snmpDefinitionsFile), {
      timeoutMs: settings.snmpTimeoutMs,
    }),
    createPrometheusPollster({ timeoutMs: settings.prometheusTimeoutMs }),
    ...(await loadDynamicPollsters(settings.pollstersDefinitionsDirs)),
  ];
  const discoveries: Discovery[] = [
    localNodeDiscovery(settings.host || hostname()),
    endpointDiscovery(settings.endpoints),
    urlDiscovery,
  ];

  const registry = options.registry ?? createRegistry('poller');
  const metrics = createPollingMetrics(registry);
  const reloads = new Counter({
    name: 'granary_poller_config_reloads_total',
    help: 'Reloads of polling.yaml, by result',
    labelNames: ['result'],
    registers: [registry],
  });

  const kafka = createKafkaClient(config.kafka, { logger });
  const admin = kafka.createAdmin();
  await admin.connect();
  try {
    const topics = [
      config.topics.samples,
      ...(settings.coordination.enabled ? [settings.coordination.topic] : []),
    ];
    await provisionTopics(admin, topics, logger);
  } finally {
    await admin.disconnect();
  }
  const serde = await TopicSerde.create(
    createSchemaRegistryClient(config.schemaRegistry),
    config.topics.samples.name,
    sampleSchema,
  );
  const producer = new BatchingProducer(kafka.createSender(), { logger });
  await producer.connect();
  const publisher = new SamplePublisher(producer, serde, {
    topic: config.topics.samples.name,
    telemetrySecret: settings.telemetrySecret,
    sampleSource: settings.sampleSource,
    batchSize: settings.batchSize,
    replicaId,
  });

  let coordination: Coordination | undefined;
  if (settings.coordination.enabled) {
    coordination = joinCoordination(kafka, { ...settings.coordination, logger });
    await coordination.firstAssignment;
  }

  const scheduler = new PollingScheduler(pollingConfig, {
    pollsters,
    discoveries,
    publish: (batch) => publisher.publish(batch),
    owns: coordination?.ownership.owns,
    metrics,
    logger,
    concurrency: settings.concurrency,
  });
  scheduler.start();
  let running = true;

  let reloading = Promise.resolve(true);
  const reload = (): Promise<boolean> => {
    reloading = reloading.then(async () => {
      try {
        pollingConfig = await loadPollingConfig(settings.pollingFile);
      } catch (error) {
        reloads.inc({ result: 'refused' });
        const code = error instanceof GranaryError ? error.code : 'UNEXPECTED';
        logger.error(
          { err: error, code, file: settings.pollingFile },
          'polling.yaml refused; the previous configuration keeps running',
        );
        return false;
      }
      scheduler.reload(pollingConfig);
      reloads.inc({ result: 'applied' });
      logger.info(
        { file: settings.pollingFile, sources: pollingConfig.sources.map((s) => s.name) },
        'polling.yaml reloaded',
      );
      return true;
    });
    return reloading;
  };
  watchFile(
    settings.pollingFile,
    { interval: settings.watchIntervalMs, persistent: false },
    (current, previous) => {
      if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size) void reload();
    },
  );

  let adminServer: AdminServer;
  try {
    adminServer = await startAdminServer({
      host: config.admin.host,
      port: config.admin.port,
      registry,
      logger,
      healthy: () => running,
      ready: () => running,
    });
  } catch (error) {
    await scheduler.stop();
    throw error;
  }
  logger.info(
    { replicaId, pollsters: pollsters.length, sources: pollingConfig.sources.length },
    'poller started',
  );

  let stopping: Promise<void> | undefined;
  return {
    adminUrl: adminServer.url,
    replicaId,
    ownedPartitions: () => coordination?.ownership.ownedPartitions() ?? [],
    reload,
    stop: () => {
      stopping ??= (async () => {
        running = false;
        unwatchFile(settings.pollingFile);
        await scheduler.stop();
        await coordination?.stop();
        await producer.close();
        await adminServer.close();
        logger.info({ replicaId }, 'poller stopped');
      })();
      return stopping;
    },
  };
}
