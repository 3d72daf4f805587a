import { defineErrors } from '@granary/errors';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, backoffDelay, retryWithBackoff } from '../index.ts';

const errors = defineErrors({
  R_TRANSIENT: { message: 'transient', status: 503, retriable: true },
  R_FATAL: { message: 'fatal', status: 500, retriable: false },
});

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
    let calls = 0;
    await expect(
      retryWithBackoff(async () => {
        calls++;
        throw errors('R_FATAL');
      }),
    ).rejects.toMatchObject({ code: 'R_FATAL' });
    expect(calls).toBe(1);

    calls = 0;
    await expect(
      retryWithBackoff(
        async () => {
          calls++;
          throw errors('R_TRANSIENT');
        },
        { retries: 3, initialDelayMs: 1 },
      ),
    ).rejects.toMatchObject({ code: 'R_TRANSIENT' });
    expect(calls).toBe(4);
  });

  it('grows the delay exponentially up to the cap, with bounded jitter', () => {
    const options = { ...DEFAULT_BACKOFF, initialDelayMs: 100, maxDelayMs: 1000, factor: 2 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, options, () => 0.5))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    expect(backoffDelay(1, options, () => 0)).toBe(80);
    expect(backoffDelay(1, options, () => 1)).toBe(120);
  });
});
