import type { Logger } from '@granary/observability';
import { Redis, type RedisOptions } from 'ioredis';

/** Where Redis is and how long a connection attempt may take: `redis` in every app's config. */
export interface RedisClientConfig {
  readonly url: string;
  /** One attempt to open the socket; past it ioredis retries as after any lost connection. */
  readonly connectTimeoutMs?: number | undefined;
}

/**
 * `commands`: GET/SET/EVAL/PUBLISH, failing fast (one try, nothing queued while disconnected):
 * every caller treats Redis as an accelerator whose absence is an answer (a 503, a cache miss, a
 * stale watermark), never something to wait for. `subscriber`: a connection in subscriber mode,
 * whose SUBSCRIBE may be queued until Redis is there and is renewed after every reconnection.
 */
export type RedisRole = 'commands' | 'subscriber';

export interface RedisClientOptions {
  readonly role: RedisRole;
  /** Connect on `connect()` (true) rather than at once. */
  readonly lazyConnect: boolean;
  /** Every connection error ioredis reports (one per failed reconnection attempt). */
  readonly onError: (error: Error) => void;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * The one way Granary opens Redis. Reconnection never gives up (50 ms more per attempt, at most
 * 2 s): Redis coming back restores freshness without a restart.
 */
export function createRedisClient(config: RedisClientConfig, options: RedisClientOptions): Redis {
  const shared: RedisOptions = {
    lazyConnect: options.lazyConnect,
    connectTimeout: config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 50, MAX_RECONNECT_DELAY_MS),
  };
  const client =
    options.role === 'commands'
      ? new Redis(config.url, { ...shared, maxRetriesPerRequest: 1, enableOfflineQueue: false })
      : // No ready check: after a reconnection its INFO is refused once the re-sent SUBSCRIBE put
        // the connection in subscriber mode.
        new Redis(config.url, { ...shared, maxRetriesPerRequest: null, enableReadyCheck: false });
  client.on('error', options.onError);
  return client;
}

/** The usual `onError`: each connection error as a warning, with the component's logger. */
export function warnOnConnectionError(logger: Logger): (error: Error) => void {
  return (err) => logger.warn({ err }, 'redis connection error');
}
