import type { Logger } from '@granary/observability';
import { REFRESH_CHANNEL, encodeRefreshRequest, watermarkChannel, watermarkKey } from '@granary/processing';
import { Redis } from 'ioredis';
import { readerErrors } from './errors.ts';
import type { PartitionRefresher } from './reader.ts';

export interface RedisRefresherOptions {
  readonly url: string;
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
export class RedisRefresher implements PartitionRefresher {
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly options: RedisRefresherOptions) {
    // Fail fast rather than queue: a refresh that cannot reach Redis now ends in a 503 anyway.
    const connection = { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false };
    this.commands = new Redis(options.url, connection);
    this.subscriber = new Redis(options.url, { ...connection, maxRetriesPerRequest: null });
    for (const redis of [this.commands, this.subscriber]) {
      redis.on('error', (err: Error) => options.logger.warn({ err }, 'redis connection error'));
    }
    this.subscriber.on('message', (_channel: string, message: string) => this.onWatermark(message));
  }

  async connect(): Promise<void> {
    await Promise.all([this.commands.connect(), this.subscriber.connect()]);
    await this.subscriber.subscribe(watermarkChannel(this.options.topic));
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
      await this.commands.publish(
        REFRESH_CHANNEL,
        encodeRefreshRequest({ topic, partition, offset: target }),
      );
      if ((await this.watermark(partition)) >= target) return;
      const timedOut = new Promise<'timeout'>((done) => {
        timer = setTimeout(() => done('timeout'), Math.max(0, deadline - Date.now()));
      });
      if ((await Promise.race([reached, timedOut])) === 'timeout') {
        throw readerErrors('READER_REFRESH_TIMEOUT', `${topic}/${partition} at ${target}`, {
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
    const stored = await this.commands.get(watermarkKey(this.options.topic, partition));
    return stored === null ? -1 : Number(stored);
  }

  async close(): Promise<void> {
    await Promise.all([this.commands.quit(), this.subscriber.quit()]);
  }

  /** `<partition>:<offset>` on the topic's watermark channel. */
  private onWatermark(message: string): void {
    const [partitionText, offsetText] = message.split(':');
    const partition = Number(partitionText);
    const offset = Number(offsetText);
    for (const waiter of this.waiters) {
      if (waiter.partition === partition && offset >= waiter.target) waiter.done();
    }
  }
}
