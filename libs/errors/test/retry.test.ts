import { defineErrors } from '@granary/errors';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, backoffDelay, retryWithBackoff } from '../index.ts';

const errors = defineErrors({
  R_TRANSIENT: { message: 'transient', status: 503, retriable: true },
  R_FATAL: { message: 'fatal', status: 500, retriable: false },
});

/** The number of calls `retryWithBackoff` makes before it throws, when every call throws `error`. */
async function callsUntilThrown(error: Error, options: Parameters<typeof retryWithBackoff>[1]) {
  let calls = 0;
  const thrown = await retryWithBackoff(async () => {
    calls++;
    throw error;
  }, options).catch((caught: unknown) => caught);
  expect(thrown).toBe(error);
  return calls;
}

describe('retryWithBackoff', () => {
  it('retries retriable errors (coded or kafkajs-style) until success', async () => {
    const failures = [errors('R_TRANSIENT'), Object.assign(new Error('kafkajs'), { retriable: true })];
    const delays: number[] = [];
    const result = await retryWithBackoff(
      async (attempt) => {
        const failure = failures.shift();
        if (failure) throw failure;
        return attempt;
      },
      { initialDelayMs: 1, onRetry: (_e, _a, delay) => delays.push(delay) },
    );
    expect(result).toBe(2);
    expect(delays).toHaveLength(2);
  });

  it('throws a non-retriable error at once, and the last retriable one when retries are spent', async () => {
    expect(await callsUntilThrown(errors('R_FATAL'), {})).toBe(1);
    expect(await callsUntilThrown(errors('R_TRANSIENT'), { retries: 3, initialDelayMs: 1 })).toBe(4);
  });

  it('retries what a `retriable` predicate accepts, uncoded errors included, and nothing else', async () => {
    const retriable = (error: unknown) => (error as Error).message === 'busy';
    let calls = 0;
    const result = await retryWithBackoff(
      async () => {
        calls++;
        if (calls < 3) throw new Error('busy');
        return 'done';
      },
      { retriable, initialDelayMs: 1 },
    );
    expect([result, calls]).toEqual(['done', 3]);

    expect(await callsUntilThrown(errors('R_TRANSIENT'), { retriable, initialDelayMs: 1 })).toBe(1);
  });

  it('waits from the longer first delay after a throttled failure', async () => {
    const throttled = {
      is: (error: unknown) => (error as Error).message === 'slow down',
      initialDelayMs: 40,
    };
    const failures = [new Error('slow down'), errors('R_TRANSIENT'), new Error('slow down')];
    const delays: number[] = [];
    await retryWithBackoff(
      async () => {
        const failure = failures.shift();
        if (failure) throw failure;
      },
      {
        retriable: () => true,
        initialDelayMs: 1,
        factor: 2,
        throttled,
        onRetry: (_e, _a, delay) => delays.push(delay),
      },
    );
    // Retry n waits initialDelayMs · 2^(n-1), ±20%: from 40 ms when throttled (40, then 1 · 2, then 40 · 4).
    expect(delays).toHaveLength(3);
    expect(delays[0]).toBeGreaterThanOrEqual(32);
    expect(delays[0]).toBeLessThanOrEqual(48);
    expect(delays[1]).toBe(2);
    expect(delays[2]).toBeGreaterThanOrEqual(128);
    expect(delays[2]).toBeLessThanOrEqual(192);
  });

  it('grows the delay exponentially up to the cap, with bounded jitter', () => {
    const options = { ...DEFAULT_BACKOFF, initialDelayMs: 100, maxDelayMs: 1000, factor: 2 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, options, () => 0.5))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    expect(backoffDelay(1, options, () => 0)).toBe(80);
    expect(backoffDelay(1, options, () => 1)).toBe(120);
    // Full jitter: anywhere from 0 up to the delay, as the AWS SDK waits.
    const full = { ...options, jitter: 'full' as const };
    expect([1, 2, 5].map((a) => backoffDelay(a, full, () => 0.5))).toEqual([50, 100, 500]);
    expect(backoffDelay(3, full, () => 0)).toBe(0);
    expect(backoffDelay(3, full, () => 0.999)).toBe(399);
  });
});
