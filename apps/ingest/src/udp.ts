import { GranaryError } from '@granary/errors';
import { type Index, indexError, resourceUuid } from '@granary/index';
import type { Logger } from '@granary/observability';
import type { PyDict } from '@granary/python-format';
import {
  StatsdAggregator,
  type StatsdMeasure,
  type UdpListener,
  decodeSampleDatagram,
  listenUdp,
  parseStatsdDatagram,
} from '@granary/udp-inputs';
import type { IngestConfig } from './config.ts';
import { ingestErrors } from './errors.ts';
import type { Ingestor } from './ingestor.ts';
import type { IngestMetrics } from './metrics.ts';

type UdpSettings = IngestConfig['ingest']['udp'];

export interface UdpInputs {
  /** Bound addresses, by input (the real port when 0 was configured). */
  readonly addresses: { samples?: { host: string; port: number }; statsd?: { host: string; port: number } };
  stop(): Promise<void>;
}

interface Dependencies {
  ingestor: Ingestor;
  index: Pick<Index, 'resources'>;
  metrics: IngestMetrics;
  logger: Logger;
}

/**
 * Runs `flush` every `intervalMs`, skipping a tick while the previous run is still going (so a slow
 * dependency cannot pile runs up); a failed run is logged and the next one goes on: a UDP input has
 * nothing to retry from, what a run held is lost, as in Gnocchi and Ceilometer. The returned stop
 * waits for the run in flight, then flushes once more.
 */
function every(intervalMs: number, flush: () => Promise<void>, logger: Logger, what: string) {
  let running: Promise<void> | undefined;
  const run = () => {
    running = flush()
      .catch((err: unknown) => logger.error({ err }, `${what} flush failed; its data is lost`))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => {
    if (!running) void run();
  }, intervalMs);
  return async () => {
    clearInterval(timer);
    await running;
    await run();
  };
}

/** Ceilometer's `udp://` publisher: datagrams → meter dicts, published in batches by the ingestor. */
async function startSamplesInput(settings: UdpSettings['samples'], deps: Dependencies) {
  const { metrics, logger } = deps;
  let pending: PyDict[] = [];
  const listener = await listenUdp(
    settings.host,
    settings.port,
    (datagram) => {
      metrics.datagrams.inc({ input: 'samples' });
      if (pending.length >= settings.maxPending) {
        metrics.datagramsRefused.inc({ input: 'samples', reason: 'full' });
        return;
      }
      try {
        pending.push(decodeSampleDatagram(datagram));
      } catch (error) {
        const code = error instanceof GranaryError ? error.code : 'UDP_INPUTS_MALFORMED_DATAGRAM';
        metrics.datagramsRefused.inc({ input: 'samples', reason: code });
        logger.debug({ err: error, code }, 'UDP sample datagram dropped');
      }
    },
    (err) => logger.warn({ err }, 'UDP samples socket error'),
  );
  const stopFlushing = every(
    settings.flushIntervalMs,
    async () => {
      if (pending.length === 0) return;
      const meters = pending;
      pending = [];
      await deps.ingestor.ingestMeters(meters);
    },
    logger,
    'UDP samples',
  );
  return { listener, stop: stopFlushing };
}

/**
 * Gnocchi's statsd daemon: the generic resource `resourceId` is created at start when missing,
 * each `name|type` metric on it at its first flush (with the configured archive policy, or the
 * one the archive policy rules give), and each flush sends one measure per metric.
 */
async function startStatsdInput(settings: UdpSettings['statsd'], deps: Dependencies) {
  const { index, metrics, logger } = deps;
  if (!settings.resourceId) throw ingestErrors('INGEST_STATSD_RESOURCE_MISSING');
  const resourceId = resourceUuid(settings.resourceId, settings.creator);
  try {
    await index.resources.create({ type: 'generic', id: settings.resourceId, creator: settings.creator });
    logger.info({ resourceId }, 'statsd resource created');
  } catch (error) {
    if (!indexError.is(error, 'INDEX_RESOURCE_ALREADY_EXISTS')) throw error;
  }
  const metricIds = new Map<string, string>();
  const readMetrics = async () => {
    const resource = await index.resources.get('generic', resourceId);
    for (const [name, id] of Object.entries(resource?.metrics ?? {})) metricIds.set(name, id);
  };
  await readMetrics();

  const metricOf = async (name: string): Promise<string | undefined> => {
    const known = metricIds.get(name);
    if (known) return known;
    const spec = settings.archivePolicyName ? { archivePolicyName: settings.archivePolicyName } : {};
    try {
      await index.resources.addMetrics(
        'generic',
        resourceId,
        { [name]: spec },
        { creator: settings.creator },
      );
    } catch (error) {
      // Another ingest made it meanwhile: read it back. Anything else: this flush loses the measure.
      if (!indexError.is(error, 'INDEX_NAMED_METRIC_ALREADY_EXISTS')) {
        metrics.datagramsRefused.inc({ input: 'statsd', reason: 'index' });
        logger.error({ err: error, metric: name }, 'statsd metric cannot be created; its measure is dropped');
        return undefined;
      }
    }
    await readMetrics();
    return metricIds.get(name);
  };

  const stats = new StatsdAggregator(settings.maxNamesPerFlush);
  const listener = await listenUdp(
    settings.host,
    settings.port,
    (datagram) => {
      metrics.datagrams.inc({ input: 'statsd' });
      const { lines, problems } = parseStatsdDatagram(datagram);
      for (const { problem } of problems) metrics.datagramsRefused.inc({ input: 'statsd', reason: problem });
      const now = Date.now() * 1000;
      for (const line of lines)
        if (!stats.add(line, now)) metrics.datagramsRefused.inc({ input: 'statsd', reason: 'full' });
    },
    (err) => logger.warn({ err }, 'statsd socket error'),
  );
  const flush = async () => {
    const batches = [];
    for (const measure of stats.flush() as StatsdMeasure[]) {
      const metricId = await metricOf(measure.metric);
      if (metricId)
        batches.push({ metric_id: metricId, timestamps: [measure.timestamp], values: [measure.value] });
    }
    if (batches.length > 0) await deps.ingestor.sendMeasures(batches);
  };
  return { listener, stop: every(settings.flushDelayMs, flush, logger, 'statsd') };
}

/** The UDP inputs that are enabled, listening once this resolves. */
export async function startUdpInputs(settings: UdpSettings, deps: Dependencies): Promise<UdpInputs> {
  const started: { listener: UdpListener; stop(): Promise<void> }[] = [];
  const addresses: UdpInputs['addresses'] = {};
  const stop = async () => {
    for (const input of started) {
      await input.listener.close();
      await input.stop();
    }
  };
  try {
    if (settings.samples.enabled) {
      const input = await startSamplesInput(settings.samples, deps);
      started.push(input);
      addresses.samples = { host: input.listener.host, port: input.listener.port };
    }
    if (settings.statsd.enabled) {
      const input = await startStatsdInput(settings.statsd, deps);
      started.push(input);
      addresses.statsd = { host: input.listener.host, port: input.listener.port };
    }
  } catch (error) {
    await stop();
    throw error;
  }
  for (const [input, address] of Object.entries(addresses))
    deps.logger.info({ input, ...address }, 'UDP input listening');
  return { addresses, stop };
}
