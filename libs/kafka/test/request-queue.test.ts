import { afterEach, describe, expect, it } from 'vitest';
import { kafkajsRequestQueueClass, stopIdleRequestQueuePolling } from '../src/kafkajs/request-queue.ts';

interface Queue {
  pending: unknown[];
  inflight: Map<number, unknown>;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  maybeThrottle(ms: number): void;
  push(request: object): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  destroy(): void;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const queues: Queue[] = [];

/** A real kafkajs RequestQueue; `sent` lists the correlation ids in the order they went out. */
function newQueue(maxInFlightRequests: number) {
  stopIdleRequestQueuePolling();
  const RequestQueue = kafkajsRequestQueueClass() as unknown as new (options: object) => Queue;
  const queue = new RequestQueue({
    maxInFlightRequests,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: 'localhost:9092',
    logger: silent,
  });
  queues.push(queue);
  const sent: number[] = [];
  const push = (correlationId: number) =>
    queue.push({
      entry: { correlationId, apiKey: 1, apiName: 'Fetch', apiVersion: 11, resolve() {}, reject() {} },
      expectResponse: true,
      sendRequest: () => sent.push(correlationId),
    });
  const answer = (correlationId: number) =>
    queue.fulfillRequest({ correlationId, payload: Buffer.alloc(0), size: 0 });
  return { queue, sent, push, answer };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(() => {
  for (const queue of queues.splice(0)) queue.destroy();
});

describe('kafkajs request queue', () => {
  it('schedules nothing once every request is answered (no 1 ms wake-ups while idle)', () => {
    const { queue, sent, push, answer } = newQueue(5);
    push(1);
    answer(1);
    expect(sent).toEqual([1]);
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it('sends a request held back by the in-flight limit as soon as one is answered', async () => {
    const { queue, sent, push, answer } = newQueue(1);
    push(1);
    push(2);
    expect(sent).toEqual([1]);
    expect(queue.pending).toHaveLength(1);
    answer(1);
    expect(sent).toEqual([1, 2]);
    answer(2);
    expect(queue.pending).toHaveLength(0);
    // The check scheduled while request 2 waited runs once, finds nothing and is not renewed.
    await sleep(50);
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it('sends a request held back by broker throttling once the throttle ends, then stops checking', async () => {
    const { queue, sent, push } = newQueue(5);
    queue.maybeThrottle(40);
    push(1);
    expect(sent).toEqual([]);
    expect(queue.throttleCheckTimeoutId).not.toBeNull();
    await sleep(150);
    expect(sent).toEqual([1]);
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });
});
