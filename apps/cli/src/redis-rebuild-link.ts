import type { Logger } from '@granary/observability';
import {
  REBUILD_CHANNEL,
  REBUILD_STATUS_CHANNEL,
  type RebuildRequest,
  type RebuildStatus,
  encodeRebuildRequest,
  parseRebuildStatus,
  rebuildStatusKey,
} from '@granary/processing';
import { Redis } from 'ioredis';
import { cliErrors } from './errors.ts';
import type { RebuildLink, StatusListener } from './rebuild.ts';

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

  static async open(url: string, logger: Logger): Promise<RedisRebuildLink> {
    const commands = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    // No ready check on the subscriber: after a reconnection its INFO would be refused once the
    // re-sent SUBSCRIBE put the connection in subscriber mode.
    const subscriber = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      enableReadyCheck: false,
    });
    const connections = [commands, subscriber];
    // The socket's own error (ECONNREFUSED, auth) says more than the rejected connect ("Connection
    // is closed"), so it is the one reported when opening fails.
    let connectionError: Error | undefined;
    const keepFirst = (err: Error) => {
      connectionError ??= err;
    };
    for (const connection of connections) connection.on('error', keepFirst);
    const link = new RedisRebuildLink(commands, subscriber, logger);
    // Only the endpoint: the URL may carry a password.
    const endpoint = new URL(url).host;
    try {
      await Promise.all(connections.map((connection) => connection.connect()));
      await subscriber.subscribe(REBUILD_STATUS_CHANNEL);
    } catch (cause) {
      link.close();
      const reason = connectionError ?? (cause as Error);
      throw cliErrors('CLI_REDIS_UNAVAILABLE', `cannot listen on ${endpoint}: ${reason.message}`, {
        cause: reason,
      });
    }
    for (const connection of connections) {
      connection.off('error', keepFirst);
      // Failed commands reject with their own error; these events tell about reconnections.
      connection.on('error', (err: Error) => logger.warn({ err }, 'redis connection error'));
    }
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
    throw cliErrors('CLI_REDIS_UNAVAILABLE', `cannot ${what}: ${(cause as Error).message}`, { cause });
  }
}
