import type { Logger } from '@granary/observability';
import type { Redis } from 'ioredis';
import { coordinationErrors } from './errors.ts';
import {
  REBUILD_CHANNEL,
  REBUILD_STATUS_CHANNEL,
  type RebuildRequest,
  type RebuildStatus,
  encodeRebuildRequest,
  parseRebuildStatus,
  rebuildStatusKey,
} from './rebuild-protocol.ts';
import { type RedisClientConfig, createRedisClient, warnOnConnectionError } from './redis-client.ts';

/** The statuses of one request heard on the status channel since `RebuildLink.listen`. */
export interface StatusListener {
  /** The next status heard, or undefined once `waitMs` passed without one. */
  next(waitMs: number): Promise<RebuildStatus | undefined>;
  close(): void;
}

/** The CLI's side of the rebuild protocol (Redis in production, scripted in unit tests). */
export interface RebuildLink {
  /** Starts collecting the statuses of request `id`; call it before publishing the request. */
  listen(id: string): StatusListener;
  publish(request: RebuildRequest): Promise<void>;
  /** The status the owner stored for `id`, which outlives a missed publication. */
  storedStatus(id: string): Promise<RebuildStatus | undefined>;
}

/** Statuses of one request in arrival order, with one waiter at a time. */
class StatusQueue implements StatusListener {
  private readonly statuses: RebuildStatus[] = [];
  private wake: (() => void) | undefined;

  constructor(private readonly onClose: () => void) {}

  push(status: RebuildStatus): void {
    this.statuses.push(status);
    this.wake?.();
  }

  async next(waitMs: number): Promise<RebuildStatus | undefined> {
    if (this.statuses.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, waitMs));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.statuses.shift();
  }

  close(): void {
    this.onClose();
  }
}

/**
 * The rebuild protocol over Redis: one connection subscribed to the status channel (subscribed
 * before any request is published, so no answer can come before it listens), one for commands.
 */
export class RedisRebuildLink implements RebuildLink {
  private readonly listeners = new Map<string, StatusQueue>();

  private constructor(
    private readonly commands: Redis,
    private readonly subscriber: Redis,
    private readonly logger: Logger,
  ) {
    subscriber.on('message', (_channel: string, message: string) => this.onStatus(message));
  }

  static async open(config: RedisClientConfig, logger: Logger): Promise<RedisRebuildLink> {
    // The socket's own error (ECONNREFUSED, auth) says more than the rejected connect ("Connection
    // is closed"), so it is the one reported when opening fails; once open, errors are logged.
    let connectionError: Error | undefined;
    let opened = false;
    const logError = warnOnConnectionError(logger);
    const onError = (err: Error) => {
      if (opened) logError(err);
      else connectionError ??= err;
    };
    const commands = createRedisClient(config, { role: 'commands', lazyConnect: true, onError });
    const subscriber = createRedisClient(config, { role: 'subscriber', lazyConnect: true, onError });
    const connections = [commands, subscriber];
    const link = new RedisRebuildLink(commands, subscriber, logger);
    // Only the endpoint: the URL may carry a password.
    const endpoint = new URL(config.url).host;
    try {
      await Promise.all(connections.map((connection) => connection.connect()));
      await subscriber.subscribe(REBUILD_STATUS_CHANNEL);
    } catch (cause) {
      link.close();
      const reason = connectionError ?? (cause as Error);
      throw coordinationErrors(
        'COORDINATION_UNAVAILABLE',
        `cannot listen on ${endpoint}: ${reason.message}`,
        {
          cause: reason,
        },
      );
    }
    // Failed commands reject with their own error; from now on these events tell about reconnections.
    opened = true;
    return link;
  }

  listen(id: string): StatusListener {
    const queue = new StatusQueue(() => this.listeners.delete(id));
    this.listeners.set(id, queue);
    return queue;
  }

  async publish(request: RebuildRequest): Promise<void> {
    await redisCommand(`publish on ${REBUILD_CHANNEL}`, () =>
      this.commands.publish(REBUILD_CHANNEL, encodeRebuildRequest(request)),
    );
  }

  async storedStatus(id: string): Promise<RebuildStatus | undefined> {
    const stored = await redisCommand(`read ${rebuildStatusKey(id)}`, () =>
      this.commands.get(rebuildStatusKey(id)),
    );
    return stored === null ? undefined : this.parsed(stored);
  }

  /** Closes both connections at once: every request it published has been answered or given up. */
  close(): void {
    this.commands.disconnect();
    this.subscriber.disconnect();
  }

  private onStatus(message: string): void {
    const status = this.parsed(message);
    if (status) this.listeners.get(status.id)?.push(status);
  }

  private parsed(message: string): RebuildStatus | undefined {
    const status = parseRebuildStatus(message);
    if (!status) this.logger.warn({ message }, 'ignoring a malformed rebuild status');
    return status;
  }
}

/** A Redis call whose failure is the command's: Redis unreachable (or refusing), retriable. */
async function redisCommand<Result>(what: string, command: () => Promise<Result>): Promise<Result> {
  try {
    return await command();
  } catch (cause) {
    throw coordinationErrors('COORDINATION_UNAVAILABLE', `cannot ${what}: ${(cause as Error).message}`, {
      cause,
    });
  }
}
