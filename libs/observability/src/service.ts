import { type BackoffOptions, isRetriable, retryWithBackoff } from '@granary/errors';
import {
  type AdminServer,
  type AdminServerOptions,
  type AdminTarget,
  startAdminServer,
} from './admin-server.ts';
import { type Logger, createLogger } from './logger.ts';
import { createRegistry } from './metrics.ts';

/** The part of every app's configuration that the service runner reads. */
export interface ServiceConfig {
  readonly log: { readonly level: string };
  readonly admin: { readonly host: string; readonly port: number };
}

/** What an app's start function returns. */
export interface RunningApp {
  /** Settles when the app's work stops by itself; a rejection is a failure it cannot get past. */
  readonly done?: Promise<void>;
  /** Ordered shutdown: stop taking work, finish or abandon what is in hand, save, disconnect. */
  stop(): Promise<void>;
  /** SIGHUP: re-read what can change without a restart. */
  reload?(): Promise<unknown>;
}

/** Given to the app's start function: its admin server is already bound, answering "starting". */
export interface ServiceHost {
  /** Use instead of `startAdminServer`: the runner's server, now answering with these probes. */
  adminServer(options: AdminServerOptions): Promise<AdminServer>;
}

export interface ServiceDefinition<Config extends ServiceConfig> {
  readonly component: string;
  /** Reads and validates the configuration; a failure here is fatal (nothing to retry). */
  loadConfig(): Config;
  start(config: Config, logger: Logger, host: ServiceHost): Promise<RunningApp>;
  /** Hard deadline of the shutdown after SIGTERM/SIGINT (Kubernetes' grace period is longer). */
  readonly shutdownDeadlineMs?: number;
  /** Backoff between start attempts after a retriable failure (at start, or of a running app). */
  readonly backoff?: Partial<BackoffOptions>;
}

const DEFAULT_SHUTDOWN_DEADLINE_MS = 9_000;
const START_BACKOFF: Partial<BackoffOptions> = {
  retries: Number.POSITIVE_INFINITY,
  initialDelayMs: 500,
  maxDelayMs: 15_000,
};

/**
 * The life of one app process: configuration, logger, the admin server (bound first, so
 * `/healthz` answers and `/readyz` says 503 while dependencies are missing), start with
 * retries while the failure is retriable (the errors' `retriable` flag), an in-process restart
 * when the running app fails retriably, and on SIGTERM/SIGINT an ordered shutdown — admin port
 * freed first, then the app's own `stop` — bounded by a hard deadline. A fatal error exits 1 for
 * the supervisor (Kubernetes, `make run`) to restart.
 */
export async function runService<Config extends ServiceConfig>(
  definition: ServiceDefinition<Config>,
): Promise<void> {
  const logger = createLogger(definition.component);
  let config: Config;
  try {
    config = definition.loadConfig();
  } catch (err) {
    logger.fatal({ err }, 'configuration is invalid');
    process.exit(1);
  }
  logger.level = config.log.level;
  const starting = (): AdminTarget => ({
    registry: createRegistry(definition.component),
    healthy: () => true,
    ready: () => false,
  });
  const admin = await startAdminServer({ ...config.admin, ...starting(), logger }).catch((err: unknown) => {
    logger.fatal({ err, port: config.admin.port }, 'admin server could not listen');
    process.exit(1);
  });
  const host: ServiceHost = {
    // The app's own close() of this server only takes its probes back: the runner frees the
    // port itself, first, at shutdown, and keeps it bound across an in-process restart.
    adminServer: async (options) => {
      admin.serve(options);
      return { url: admin.url, serve: admin.serve, close: async () => admin.serve(starting()) };
    },
  };

  const stopping = new AbortController();
  let running: RunningApp | undefined;
  const shutdown = async (signal: string) => {
    const deadlineMs = definition.shutdownDeadlineMs ?? DEFAULT_SHUTDOWN_DEADLINE_MS;
    logger.info({ signal, deadlineMs }, 'stopping');
    stopping.abort();
    const deadline = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown did not finish within its deadline; exiting anyway');
      process.exit(1);
    }, deadlineMs);
    deadline.unref();
    const failures: unknown[] = [];
    await admin.close().catch((err: unknown) => failures.push(err));
    await running?.stop().catch((err: unknown) => failures.push(err));
    if (failures.length > 0) {
      logger.error({ err: new AggregateError(failures, 'shutdown failed') }, 'stopped with errors');
      process.exit(1);
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGHUP', () => {
    running?.reload?.().catch((err: unknown) => logger.error({ err }, 'reload failed'));
  });

  const backoff = { ...START_BACKOFF, ...definition.backoff, signal: stopping.signal };
  const onRetry = (err: unknown, attempt: number, delayMs: number) =>
    logger.warn(
      { err, code: (err as { code?: unknown }).code, attempt, nextDelayMs: delayMs },
      'a dependency is unavailable; starting again after a delay',
    );
  for (;;) {
    try {
      running = await retryWithBackoff(() => definition.start(config, logger, host), { ...backoff, onRetry });
    } catch (err) {
      if (stopping.signal.aborted) return;
      logger.fatal({ err }, `${definition.component} failed to start`);
      process.exit(1);
    }
    if (stopping.signal.aborted) return;
    const failure = await (running.done ?? new Promise<void>(() => {})).then(
      () => undefined,
      (err: unknown) => err ?? new Error('stopped without a reason'),
    );
    if (stopping.signal.aborted) return;
    if (failure === undefined || !isRetriable(failure)) {
      logger.fatal({ err: failure }, `${definition.component} stopped on an error it cannot get past`);
      process.exit(1);
    }
    // A dependency went away while running: restart in this process, not ready meanwhile.
    admin.serve(starting());
    logger.warn(
      { err: failure, code: (failure as { code?: unknown }).code },
      'restarting after a retriable failure',
    );
    await running.stop().catch((err: unknown) => logger.error({ err }, 'stopping the failed app failed'));
    running = undefined;
  }
}
