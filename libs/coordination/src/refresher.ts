import type { Logger } from '@granary/observability';
import type { Redis } from 'ioredis';
import { coordinationErrors } from './errors.ts';
import { type RedisClientConfig, createRedisClient, warnOnConnectionError } from './redis-client.ts';
import {
  REFRESH_CHANNEL,
  encodeRefreshRequest,
  parseWatermarkRaise,
  watermarkChannel,
  watermarkKey,
} from './refresh-protocol.ts';

export interface RedisRefresherOptions {
  readonly redis: RedisClientConfig;
  /** The measures topic. */
  readonly topic: string;
  /** The partition's end offset now (Kafka's high watermark): what the checkpoint must cover. */
  readonly endOffset: (partition: number) => Promise<number>;
  /** How long a refresh may wait for the checkpoint (Gnocchi's operation_timeout). */
  readonly timeoutMs: number;
  readonly logger: Logger;
}

interface Waiter {
  readonly partition: number;
  readonly target: number;
  readonly done: () => void;
}

/**
 * The API's side of ADR 0011: ask the partition's owner to checkpoint (channel `granary:refresh`)
 * and wait until the partition's watermark reaches the end offset read at request time. Watermark
 * raises arrive on one subscription shared by every waiting request.
 */
export class RedisRefresher {
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly options: RedisRefresherOptions) {
    // Commands fail fast rather than queue: a refresh that cannot reach Redis ends in a 503 anyway.
    // The subscription waits for Redis and is renewed after every reconnection (autoResubscribe).
    const onError = warnOnConnectionError(options.logger);
    this.commands = createRedisClient(options.redis, { role: 'commands', lazyConnect: false, onError });
    this.subscriber = createRedisClient(options.redis, { role: 'subscriber', lazyConnect: false, onError });
    this.subscriber.on('message', (_channel: string, message: string) => this.onWatermark(message));
  }

  /**
   * Resolves once watermark raises are received and commands can be sent. Redis being down only
   * delays it: refreshes answer 503 meanwhile, everything else keeps working, so start-up need not
   * wait for it.
   */
  async ready(): Promise<void> {
    const commandsReady =
      this.commands.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((done) => this.commands.once('ready', () => done()));
    await Promise.all([this.subscriber.subscribe(watermarkChannel(this.options.topic)), commandsReady]);
  }

  async refresh(partition: number): Promise<void> {
    const { topic, timeoutMs } = this.options;
    const deadline = Date.now() + timeoutMs;
    const target = await this.options.endOffset(partition);
    if (target === 0) return; // nothing was ever produced to it
    let waiter: Waiter | undefined;
    const reached = new Promise<void>((done) => {
      waiter = { partition, target, done };
      this.waiters.add(waiter);
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      // Subscribed before publishing, then the stored watermark read: no raise can slip between.
      if ((await this.watermark(partition)) >= target) return;
      await this.redis('publish a refresh request', () =>
        this.commands.publish(REFRESH_CHANNEL, encodeRefreshRequest({ topic, partition, offset: target })),
      );
      if ((await this.watermark(partition)) >= target) return;
      const timedOut = new Promise<'timeout'>((done) => {
        timer = setTimeout(() => done('timeout'), Math.max(0, deadline - Date.now()));
      });
      if ((await Promise.race([reached, timedOut])) === 'timeout') {
        throw coordinationErrors('COORDINATION_REFRESH_TIMEOUT', `${topic}/${partition} at ${target}`, {
          details: { topic, partition, offset: target, timeoutMs },
        });
      }
    } finally {
      clearTimeout(timer);
      if (waiter) this.waiters.delete(waiter);
    }
  }

  /** The partition's checkpointed offset as published, -1 when none yet. */
  async watermark(partition: number): Promise<number> {
    const stored = await this.redis('read a watermark', () =>
      this.commands.get(watermarkKey(this.options.topic, partition)),
    );
    return stored === null ? -1 : Number(stored);
  }

  async close(): Promise<void> {
    // QUIT needs a connection; one still (re)connecting is just dropped.
    await Promise.all(
      [this.commands, this.subscriber].map(async (redis) => {
        if (redis.status === 'ready') await redis.quit();
        else redis.disconnect();
      }),
    );
  }

  /** A Redis command whose failure is the refresh's: unavailable, retriable (503). */
  private async redis<T>(what: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (cause) {
      throw coordinationErrors('COORDINATION_UNAVAILABLE', `cannot ${what}`, { cause });
    }
  }

  /** A raise on the topic's watermark channel wakes the requests it satisfies. */
  private onWatermark(message: string): void {
    const raise = parseWatermarkRaise(message);
    if (!raise) return;
    const { partition, offset } = raise;
    for (const waiter of this.waiters) {
      if (waiter.partition === partition && offset >= waiter.target) waiter.done();
    }
  }
}
