export {
  defineErrors,
  failureOutcome,
  GranaryError,
  isRetriable,
  isTransientNetworkError,
} from './src/granary-error.ts';
export type { ErrorFactory, ErrorSpec } from './src/granary-error.ts';
export { DEFAULT_BACKOFF, backoffDelay, retryWithBackoff } from './src/retry.ts';
export type { BackoffOptions } from './src/retry.ts';
