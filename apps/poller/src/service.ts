import { randomUUID } from 'node:crypto';
import { unwatchFile, watchFile } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { GranaryError } from '@granary/errors';
import { createKafkaClient, provisionTopics, withTopicAdmin } from '@granary/kafka';
import {
  type AdminServer,
  type Logger,
  type Registry,
  type ServiceHost,
  createRegistry,
  prometheusInstruments,
  startAdminServer,
} from '@granary/observability';
import {
  type Discovery,
  type DynamicPollsterDefinition,
  LibvirtClient,
  type PollingConfig,
  PollingScheduler,
  type Pollster,
  type SnmpMeterDefinition,
  createComputePollsters,
  createDynamicPollster,
  createHostPollsters,
  createPollingMetrics,
  createPrometheusPollster,
  createSnmpPollsters,
  defaultSnmpDefinitions,
  endpointDiscovery,
  loadPollingConfig,
  localInstancesDiscovery,
  localNodeDiscovery,
  parseDynamicPollsterDefinitions,
  parseSnmpDefinitions,
  pollingErrors,
  urlDiscovery,
} from '@granary/polling';
import { TopicSerde, createSchemaRegistryClient, sampleSchema } from '@granary/schema';
import { checkTelemetrySecret } from '@granary/telemetry';
import type { PollerConfig } from './config.ts';
import { type Coordination, joinCoordination } from './coordination.ts';
import { SamplePublisher, createSampleProducer } from './publisher.ts';

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
  options: { registry?: Registry } & Partial<ServiceHost> = {},
): Promise<Poller> {
  const settings = config.poller;
  if (
    checkTelemetrySecret(settings.telemetrySecret, settings.allowPlaceholderSecret, 'poller.telemetrySecret')
  )
    logger.warn(
      "poller.telemetrySecret is Ceilometer's public placeholder: anyone can forge samples (development only)",
    );
  const replicaId = `${settings.host || hostname()}-${randomUUID().slice(0, 8)}`;
  let pollingConfig: PollingConfig = await loadPollingConfig(settings.pollingFile);
  const host = settings.host || hostname();
  const libvirt = new LibvirtClient({ uri: settings.libvirt.uri, timeoutMs: settings.libvirt.timeoutMs });
  const pollsters: Pollster[] = [
    ...createHostPollsters(),
    ...createComputePollsters({ client: libvirt, host }),
    ...createSnmpPollsters(await loadSnmpDefinitions(settings.snmpDefinitionsFile), {
      timeoutMs: settings.snmpTimeoutMs,
    }),
    createPrometheusPollster({ timeoutMs: settings.prometheusTimeoutMs }),
    ...(await loadDynamicPollsters(settings.pollstersDefinitionsDirs)),
  ];
  const discoveries: Discovery[] = [
    localNodeDiscovery(host),
    localInstancesDiscovery({
      client: libvirt,
      host,
      optional: settings.libvirt.optional,
      logger,
    }),
    endpointDiscovery(settings.endpoints),
    urlDiscovery,
  ];

  const registry = options.registry ?? createRegistry('poller');
  const instruments = prometheusInstruments(registry);
  const metrics = createPollingMetrics(instruments);
  const reloads = instruments.counter({
    name: 'granary_poller_config_reloads_total',
    help: 'Reloads of polling.yaml, by result',
    labelNames: ['result'],
  });

  const kafka = createKafkaClient(config.kafka, { logger, instruments });
  const { coordination: coordinationSettings } = settings;
  const coordinationPartitions = await withTopicAdmin(kafka, async (admin) => {
    const topics = [
      config.topics.samples,
      ...(coordinationSettings.enabled ? [coordinationSettings.topic] : []),
    ];
    await provisionTopics(admin, topics, logger);
    if (!coordinationSettings.enabled) return 0;
    // Ownership hashes over the partitions the topic really has (it may predate the configuration).
    const observed = await admin.describeTopics([coordinationSettings.topic.name]);
    return observed.get(coordinationSettings.topic.name)?.partitions ?? 0;
  });
  const serde = await TopicSerde.create(
    createSchemaRegistryClient(config.schemaRegistry),
    config.topics.samples.name,
    sampleSchema,
  );
  // What has been started, undone in reverse order by stop() and by a start that fails half-way.
  const undo: Array<() => Promise<void> | void> = [];
  const undoAll = async () => {
    // Every step runs even when an earlier one fails; the first failure is reported.
    const failures: unknown[] = [];
    for (const step of undo.splice(0).reverse())
      await Promise.resolve()
        .then(step)
        .catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  };
  let running = false;
  let coordination: Coordination | undefined;
  let adminServer: AdminServer;
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
  let scheduler: PollingScheduler;
  try {
    const producer = createSampleProducer(kafka.createSender(), settings.batchSize, { logger });
    await producer.connect();
    undo.push(() => producer.close());
    const publisher = new SamplePublisher(producer, serde, {
      topic: config.topics.samples.name,
      telemetrySecret: settings.telemetrySecret,
      sampleSource: settings.sampleSource,
      batchSize: settings.batchSize,
      replicaId,
    });

    if (settings.coordination.enabled) {
      const joined = joinCoordination(kafka, {
        groupId: settings.coordination.groupId,
        topic: settings.coordination.topic.name,
        partitions: coordinationPartitions,
        sessionTimeoutMs: settings.coordination.sessionTimeoutMs,
        logger,
      });
      coordination = joined;
      undo.push(() => joined.stop());
      await joined.firstAssignment;
    }

    scheduler = new PollingScheduler(pollingConfig, {
      pollsters,
      discoveries,
      publish: (batch) => publisher.publish(batch),
      owns: coordination?.ownership.owns,
      metrics,
      logger,
      concurrency: settings.concurrency,
      // Replicas poll at the same instants, so a resource that moves is polled once per interval.
      alignToInterval: settings.coordination.enabled,
    });
    scheduler.start();
    running = true;
    undo.push(() => {
      running = false;
      return scheduler.stop();
    });

    watchFile(
      settings.pollingFile,
      { interval: settings.watchIntervalMs, persistent: false },
      (current, previous) => {
        if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size) void reload();
      },
    );
    undo.push(() => unwatchFile(settings.pollingFile));

    adminServer = await (options.adminServer ?? startAdminServer)({
      host: config.admin.host,
      port: config.admin.port,
      registry,
      logger,
      healthy: () => {
        const stalled = scheduler.stalledIntervals();
        if (stalled.length > 0)
          throw new Error(`polling cycles stalled for intervals ${stalled.join(', ')} s`);
        return running;
      },
      ready: () => running,
    });
    undo.push(() => adminServer.close());
  } catch (error) {
    await undoAll();
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
      stopping ??= undoAll().then(() => logger.info({ replicaId }, 'poller stopped'));
      return stopping;
    },
  };
}
