import { describe, expect, it } from 'vitest';
import { BatchingProducer, type OutgoingRecord, type RecordSender, kafkaErrors } from '../index.ts';

/** A sender whose requests complete when the test says so. */
class ControlledSender implements RecordSender {
  readonly requests: OutgoingRecord[][] = [];
  private completions: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  failures: unknown[] = [];

  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  send(records: readonly OutgoingRecord[]): Promise<void> {
    this.requests.push([...records]);
    const failure = this.failures.shift();
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => this.completions.push({ resolve, reject }));
  }
  completeNext(): void {
    this.completions.shift()?.resolve();
  }
  get waiting(): number {
    return this.completions.length;
  }
}

const record = (i: number): OutgoingRecord => ({ topic: 't', key: `k${i}`, value: Buffer.from([i]) });
const records = (from: number, count: number) => Array.from({ length: count }, (_, i) => record(from + i));
const tick = () => new Promise((resolve) => setImmediate(resolve));

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await tick();
}

describe('BatchingProducer', () => {
  it('batches the sends that arrive while a request is in flight into the next request', async () => {
    const sender = new ControlledSender();
    const producer = new BatchingProducer(sender, { lingerMs: 0 });
    const first = producer.send(records(0, 2));
    await until(() => sender.requests.length === 1);
    const second = producer.send(records(2, 3));
    const third = producer.send(records(5, 1));
    await tick();
    expect(sender.requests).toHaveLength(1);

    sender.completeNext();
    await first;
    await until(() => sender.requests.length === 2);
    expect(sender.requests[1]!.map((r) => r.key)).toEqual(['k2', 'k3', 'k4', 'k5']);
    sender.completeNext();
    await Promise.all([second, third]);
  });

  it('sends a full batch without waiting for the linger and splits at whole sends', async () => {
    const sender = new ControlledSender();
    const producer = new BatchingProducer(sender, { lingerMs: 60_000, maxBatchRecords: 4 });
    const sends = [producer.send(records(0, 3)), producer.send(records(3, 3))];
    await until(() => sender.requests.length === 1);
    expect(sender.requests[0]).toHaveLength(3);
    sender.completeNext();
    await until(() => sender.requests.length === 2);
    sender.completeNext();
    await Promise.all(sends);
    expect(sender.requests.map((r) => r.length)).toEqual([3, 3]);
  });

  it('keeps a request within maxBatchBytes', async () => {
    const sender = new ControlledSender();
    const producer = new BatchingProducer(sender, { lingerMs: 60_000, maxBatchBytes: 1000 });
    const big = (i: number): OutgoingRecord => ({ topic: 't', key: null, value: Buffer.alloc(400, i) });
    const sends = [producer.send([big(0)]), producer.send([big(1)]), producer.send([big(2)])];
    await until(() => sender.requests.length === 1);
    sender.completeNext();
    await until(() => sender.requests.length === 2);
    sender.completeNext();
    await Promise.all(sends);
    expect(sender.requests.map((r) => r.length)).toEqual([2, 1]);
  });

  it('makes senders wait while the buffer is full, and fails them after maxBlockMs', async () => {
    const sender = new ControlledSender();
    const producer = new BatchingProducer(sender, { lingerMs: 0, maxBufferedRecords: 5, maxBlockMs: 50 });
    const held = producer.send(records(0, 4));
    let admitted = false;
    const waiting = producer.send(records(4, 2)).then(() => {
      admitted = true;
    });
    await until(() => sender.requests.length === 1);
    await tick();
    expect(admitted).toBe(false);
    expect(sender.requests).toHaveLength(1);

    sender.completeNext();
    await held;
    await until(() => sender.waiting === 1);
    sender.completeNext();
    await waiting;

    const blocker = producer.send(records(10, 5));
    const refused = await producer.send(records(20, 1)).catch((e: unknown) => e);
    expect(kafkaErrors.is(refused, 'KAFKA_PRODUCER_BUFFER_FULL')).toBe(true);
    expect((refused as { retriable: boolean }).retriable).toBe(true);
    await until(() => sender.waiting === 1);
    sender.completeNext();
    await blocker;
  });

  it('retries a retriable failure with backoff and reports a non-retriable one to every send of the batch', async () => {
    const sender = new ControlledSender();
    const producer = new BatchingProducer(sender, {
      lingerMs: 0,
      backoff: { initialDelayMs: 1, maxDelayMs: 1 },
    });
    sender.failures.push(kafkaErrors('KAFKA_UNAVAILABLE'));
    const retried = producer.send(records(0, 1));
    await until(() => sender.waiting === 1);
    sender.completeNext();
    await retried;
    expect(sender.requests).toHaveLength(2);

    sender.failures.push(kafkaErrors('KAFKA_REQUEST_FAILED', 'RECORD_TOO_LARGE'));
    await expect(producer.send(records(1, 1))).rejects.toMatchObject({ code: 'KAFKA_REQUEST_FAILED' });
  });

  it('flushes on close and refuses sends afterwards', async () => {
    const sender = new ControlledSender();
    const producer = new BatchingProducer(sender, { lingerMs: 60_000 });
    const pending = producer.send(records(0, 2));
    const closing = producer.close();
    await until(() => sender.waiting === 1);
    sender.completeNext();
    await Promise.all([pending, closing]);
    await expect(producer.send(records(2, 1))).rejects.toMatchObject({ code: 'KAFKA_PRODUCER_CLOSED' });
  });
});
