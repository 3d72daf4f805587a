import { isRetriable } from './granary-error.ts';

export interface BackoffOptions {
  /** Attempts after the first; 0 means no retry. */
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Growth of the delay per attempt. */
  factor: number;
  /**
   * Where the wait falls under the exponential delay: `spread`, within ±20% of it (the default);
   * `full`, anywhere from 0 to it, as the AWS SDK's standard retry strategy waits.
   */
  jitter?: 'spread' | 'full';
  /** Which failures are worth another attempt; by default the errors' own flag (`isRetriable`). */
  retriable?: (error: unknown) => boolean;
  /** Failures where the server asked to slow down: their waits grow from a longer first delay. */
  throttled?: { is: (error: unknown) => boolean; initialDelayMs: number };
  /** Called before each wait, for logging. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Stops waiting early (shutdown); the last error is thrown at once. */
  signal?: AbortSignal;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  retries: 8,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  factor: 2,
};

/** The wait before retry `attempt` (1-based): exponential, capped, with jitter against herds. */
export function backoffDelay(attempt: number, options: BackoffOptions, random = Math.random): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** (attempt - 1));
  if (options.jitter === 'full') return Math.floor(random() * base);
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * Run `operation`, trying again with exponential backoff while it fails with a retriable error
 * (`isRetriable`: coded errors and kafkajs errors alike, unless `retriable` says otherwise). A
 * non-retriable error, or the last retriable one once `retries` is spent, is thrown to the caller.
 */
export async function retryWithBackoff<Result>(
  operation: (attempt: number) => Promise<Result>,
  options: Partial<BackoffOptions> = {},
): Promise<Result> {
  const settings = { ...DEFAULT_BACKOFF, ...options };
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const retriable = settings.retriable ?? isRetriable;
      if (!retriable(error) || attempt >= settings.retries || settings.signal?.aborted) throw error;
      const initialDelayMs = settings.throttled?.is(error)
        ? settings.throttled.initialDelayMs
        : settings.initialDelayMs;
      const delayMs = backoffDelay(attempt + 1, { ...settings, initialDelayMs });
      settings.onRetry?.(error, attempt + 1, delayMs);
      await sleep(delayMs, settings.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
