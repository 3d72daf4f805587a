import { type BackoffOptions, retryWithBackoff } from '@granary/errors';
import type { Logger } from '@granary/observability';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { BatchConsumer, BatchHandler, ConsumerOptions } from '../ports.ts';
import {
  type ConsumedRecord,
  type TopicPartition,
  type TopicPartitionOffset,
  nextOffset,
} from '../records.ts';
import { toKafkaError, translated } from './errors.ts';

const partitionKey = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

/**
 * kafkajs group consumer with manual offsets: `eachBatch` without auto-resolve or auto-commit, so
 * a record counts as consumed only when the handler says so. kafkajs has no rebalance listener;
 * assignment changes are derived from its GROUP_JOIN events and the callbacks are awaited before
 * the next batch is handled.
 */
export class KafkajsBatchConsumer implements BatchConsumer {
  private readonly consumer: Consumer;
  private readonly owned = new Map<string, TopicPartition>();
  /** Assignment callbacks in the order the group changed; batches wait for it. */
  private rebalancing: Promise<void> = Promise.resolve();
  private batchInHand: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private failure: unknown;
  private settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  constructor(
    kafka: Kafka,
    private readonly options: ConsumerOptions,
    private readonly backoff: Partial<BackoffOptions>,
    private readonly logger: Logger | undefined,
  ) {
    // ADR 0016: how long a killed member keeps its partitions, the bulk of failover time.
    const sessionTimeout = options.sessionTimeoutMs ?? 6000;
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
      sessionTimeout,
      // Several heartbeats per session, so one slow round trip does not cost a live member its partitions.
      heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 6)),
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) =>
      this.assignmentChanged(payload.memberAssignment),
    );
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.fail(toKafkaError('consume', payload.error));
    });
  }

  async run(handler: BatchHandler): Promise<void> {
    const finished = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.starting = this.start(handler);
    await this.starting;
    return finished;
  }

  /**
   * Each step looks at `stopping` first: kafkajs' run() after its disconnect() would connect again
   * and join the group, a member nobody stops (it restarts itself on every crash).
   */
  private async start(handler: BatchHandler): Promise<void> {
    await translated('connect consumer', () => this.consumer.connect());
    if (this.stopping) return;
    await translated('subscribe', () =>
      this.consumer.subscribe({
        topics: [...this.options.topics],
        fromBeginning: this.options.fromBeginning ?? true,
      }),
    );
    if (this.stopping) return;
    await translated('start consumer', () =>
      this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => this.handleBatch(payload, handler),
      }),
    );
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await translated('commit offsets', () => this.consumer.commitOffsets([...offsets]));
  }

  seek(position: TopicPartitionOffset): void {
    this.consumer.seek(position);
  }

  assignment(): TopicPartition[] {
    return [...this.owned.values()];
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown().then(
      () => this.settle?.resolve(),
      (error: unknown) => this.settle?.reject(error),
    );
    return this.stopping;
  }

  private async handleBatch(payload: EachBatchPayload, handler: BatchHandler): Promise<void> {
    const { batch } = payload;
    await this.rebalancing;
    // After a seek (by onAssigned or the app) the fetched batch is from the old position.
    if (this.stopping || this.failure || !payload.isRunning() || payload.isStale() || batch.isEmpty()) return;
    const records = batch.messages.map((message) => toConsumedRecord(batch.topic, batch.partition, message));
    // Set before the handler runs, so a stop() called from inside the handler waits for this batch.
    let batchDone!: () => void;
    this.batchInHand = new Promise<void>((resolve) => {
      batchDone = resolve;
    });
    try {
      await retryWithBackoff(
        () =>
          handler({
            topic: batch.topic,
            partition: batch.partition,
            records,
            highWatermark: batch.highWatermark,
          }),
        {
          ...this.backoff,
          onRetry: (error, attempt, delayMs) =>
            this.logger?.warn(
              { err: error, topic: batch.topic, partition: batch.partition, attempt, delayMs },
              'batch failed; retrying',
            ),
        },
      );
    } catch (error) {
      // Not retriable, or retries spent: leave the batch uncommitted and stop, rather than skip it.
      this.fail(error);
      batchDone();
      return;
    }
    try {
      const last = batch.lastOffset();
      payload.resolveOffset(last);
      if ((this.options.commit ?? 'after-batch') === 'after-batch') {
        // Untranslated on purpose: kafkajs must see its own rebalance errors to rejoin the group;
        // the batch then comes back from the last committed offset (at-least-once).
        await this.consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: nextOffset(last) },
        ]);
      }
    } finally {
      batchDone();
    }
    if (!this.stopping) await payload.heartbeat();
  }

  private assignmentChanged(memberAssignment: Record<string, number[]>): void {
    const now = new Map<string, TopicPartition>();
    for (const [topic, partitions] of Object.entries(memberAssignment)) {
      for (const partition of partitions) now.set(partitionKey({ topic, partition }), { topic, partition });
    }
    const revoked = [...this.owned].filter(([key]) => !now.has(key)).map(([, tp]) => tp);
    const assigned = [...now].filter(([key]) => !this.owned.has(key)).map(([, tp]) => tp);
    this.owned.clear();
    for (const [key, tp] of now) this.owned.set(key, tp);
    this.logger?.info({ assigned, revoked }, 'partition assignment changed');
    this.rebalancing = this.rebalancing
      .then(async () => {
        if (revoked.length > 0) await this.options.onRevoked?.(revoked, this);
        if (assigned.length > 0) await this.options.onAssigned?.(assigned, this);
      })
      .catch((error: unknown) => this.fail(error));
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error;
    this.logger?.error({ err: error }, 'consumer stops after an error it cannot get past');
    this.stopping ??= this.shutdown().then(
      () => this.settle?.reject(error),
      () => this.settle?.reject(error),
    );
  }

  /** Let the batch in hand finish, revoke everything owned while commits are accepted, then leave. */
  private async shutdown(): Promise<void> {
    // A start still in progress finishes its step first, so disconnect() comes after it; a start
    // that failed has already rejected run() for its caller.
    await this.starting?.catch(() => undefined);
    await this.batchInHand;
    await this.rebalancing;
    const owned = this.assignment();
    this.owned.clear();
    try {
      if (owned.length > 0) await this.options.onRevoked?.(owned, this);
    } finally {
      await this.consumer.stop();
      await this.consumer.disconnect();
    }
  }
}

export function toConsumedRecord(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  // Header names come from whoever produced the record: a dictionary without a prototype.
  const headers: Record<string, Buffer> = Object.create(null);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) headers[name] = Buffer.isBuffer(first) ? first : Buffer.from(first);
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ?? null,
    value: message.value ?? null,
    headers,
    timestamp: message.timestamp,
  };
}
