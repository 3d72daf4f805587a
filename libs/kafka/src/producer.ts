import { type BackoffOptions, retryWithBackoff } from '@granary/errors';
import type { Logger } from '@granary/observability';
import { kafkaErrors } from './errors.ts';
import type { RecordSender } from './ports.ts';
import type { OutgoingRecord } from './records.ts';

export interface ProducerOptions {
  /** How long a send may wait for more records to join its request (default 5 ms). */
  lingerMs?: number;
  /** Records per request; a full batch goes without waiting for the linger (default 10,000). */
  maxBatchRecords?: number;
  /**
   * Approximate bytes per request (default 1,000,000): the broker refuses a partition's record
   * batch above `message.max.bytes` (1 MiB by default), and a request never holds more than that.
   */
  maxBatchBytes?: number;
  /** Records accepted but not yet acknowledged; beyond it `send` waits (default 200,000). */
  maxBufferedRecords?: number;
  /** How long `send` waits for buffer space before failing with KAFKA_PRODUCER_BUFFER_FULL (default 30 s). */
  maxBlockMs?: number;
  /** Retry of a failed request when its error is retriable. */
  backoff?: Partial<BackoffOptions>;
  logger?: Logger;
}

interface PendingSend {
  records: readonly OutgoingRecord[];
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface CapacityWaiter {
  count: number;
  admit: () => void;
}

/**
 * The producer every app uses: idempotent and acks=all through its `RecordSender`, with
 * batching and back-pressure on top.
 *
 * Batching: sends arriving while a request is in flight (or within `lingerMs`) travel together in
 * the next request. One request at a time keeps per-partition order across retries, which the
 * idempotent protocol then guarantees without duplicates.
 * Back-pressure: at most `maxBufferedRecords` records are held; further sends wait, in order, for
 * acknowledgements to free space, and fail (retriable) after `maxBlockMs`.
 */
export class BatchingProducer {
  private readonly lingerMs: number;
  private readonly maxBatchRecords: number;
  private readonly maxBatchBytes: number;
  private readonly maxBufferedRecords: number;
  private readonly maxBlockMs: number;
  private readonly backoff: Partial<BackoffOptions>;
  private readonly logger: Logger | undefined;

  private pending: PendingSend[] = [];
  private pendingRecords = 0;
  private pendingBytes = 0;
  private bufferedRecords = 0;
  private readonly waiters: CapacityWaiter[] = [];
  private lingerTimer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly sender: RecordSender,
    options: ProducerOptions = {},
  ) {
    this.lingerMs = options.lingerMs ?? 5;
    this.maxBatchRecords = options.maxBatchRecords ?? 10_000;
    this.maxBatchBytes = options.maxBatchBytes ?? 1_000_000;
    this.maxBufferedRecords = options.maxBufferedRecords ?? 200_000;
    this.maxBlockMs = options.maxBlockMs ?? 30_000;
    this.backoff = options.backoff ?? {};
    this.logger = options.logger;
  }

  connect(): Promise<void> {
    return this.sender.connect();
  }

  /** Resolves once every record is acknowledged by all in-sync replicas; rejects with a coded error. */
  async send(records: readonly OutgoingRecord[]): Promise<void> {
    if (this.closed) throw kafkaErrors('KAFKA_PRODUCER_CLOSED');
    if (records.length === 0) return;
    await this.reserve(records.length);
    const bytes = records.reduce((sum, record) => sum + approximateSize(record), 0);
    const acknowledged = new Promise<void>((resolve, reject) => {
      this.pending.push({ records, bytes, resolve, reject });
    });
    this.pendingRecords += records.length;
    this.pendingBytes += bytes;
    if (this.pendingRecords >= this.maxBatchRecords || this.pendingBytes >= this.maxBatchBytes) {
      this.startDraining();
    } else this.lingerTimer ??= setTimeout(() => this.startDraining(), this.lingerMs);
    return acknowledged;
  }

  /** Resolves once everything sent so far is acknowledged (or failed). */
  async flush(): Promise<void> {
    this.startDraining();
    while (this.draining) await this.draining;
  }

  /** Refuse new sends, deliver the buffered ones, disconnect. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    for (const waiter of this.waiters.splice(0)) waiter.admit();
    await this.sender.disconnect();
  }

  private reserve(count: number): Promise<void> {
    // A send larger than the whole buffer is admitted alone rather than never.
    const fits = () => this.bufferedRecords === 0 || this.bufferedRecords + count <= this.maxBufferedRecords;
    if (this.waiters.length === 0 && fits()) {
      this.bufferedRecords += count;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: CapacityWaiter = {
        count,
        admit: () => {
          clearTimeout(timer);
          this.bufferedRecords += count;
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(
          kafkaErrors(
            'KAFKA_PRODUCER_BUFFER_FULL',
            `${this.bufferedRecords} records buffered, limit ${this.maxBufferedRecords}`,
          ),
        );
      }, this.maxBlockMs);
      this.waiters.push(waiter);
    });
  }

  private release(count: number): void {
    this.bufferedRecords -= count;
    while (this.waiters.length > 0) {
      const next = this.waiters[0]!;
      if (this.bufferedRecords > 0 && this.bufferedRecords + next.count > this.maxBufferedRecords) break;
      this.waiters.shift();
      next.admit();
    }
  }

  private startDraining(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      // Sends that arrived during the last request and did not fill a batch still need a request.
      if (this.pending.length > 0) this.startDraining();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.takeBatch();
      const records = batch.flatMap((send) => send.records);
      try {
        await retryWithBackoff(() => this.sender.send(records), {
          ...this.backoff,
          onRetry: (error, attempt, delayMs) =>
            this.logger?.warn({ err: error, attempt, delayMs }, 'produce failed; retrying'),
        });
        for (const send of batch) send.resolve();
      } catch (error) {
        for (const send of batch) send.reject(error);
      } finally {
        this.release(records.length);
      }
    }
  }

  /** Whole sends, oldest first, within `maxBatchRecords` and `maxBatchBytes` (at least one send). */
  private takeBatch(): PendingSend[] {
    let count = 0;
    let bytes = 0;
    let taken = 0;
    while (taken < this.pending.length) {
      const next = this.pending[taken]!;
      const full =
        count + next.records.length > this.maxBatchRecords || bytes + next.bytes > this.maxBatchBytes;
      if (taken > 0 && full) break;
      count += next.records.length;
      bytes += next.bytes;
      taken++;
    }
    this.pendingRecords -= count;
    this.pendingBytes -= bytes;
    return this.pending.splice(0, taken);
  }
}

/** Bytes a record takes in a record batch, near enough: payloads plus a per-record overhead. */
const RECORD_OVERHEAD_BYTES = 24;

function approximateSize(record: OutgoingRecord): number {
  let size = RECORD_OVERHEAD_BYTES + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers ?? {})) size += name.length + value.length;
  return size;
}
