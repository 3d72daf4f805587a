/** Public surface of @granary/kafka. */
export { kafkaErrors } from './src/errors.ts';
export type { KafkaErrorCode } from './src/errors.ts';
export { murmur2, partitionFor, toPositive } from './src/murmur2.ts';
export { DEFAULT_BACKOFF, backoffDelay, retryWithBackoff } from './src/retry.ts';
export type { BackoffOptions } from './src/retry.ts';
