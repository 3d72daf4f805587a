import { GranaryError } from '@granary/errors';
import { kafkaErrors } from '../errors.ts';

/** Names of kafkajs errors that mean "the cluster could not be reached in time", not "no". */
const UNAVAILABLE_ERRORS = new Set([
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
]);

/** A kafkajs failure as a coded error; kafkajs's own `retriable` flag is kept. */
export function toKafkaError(action: string, cause: unknown): GranaryError {
  if (cause instanceof GranaryError) return cause;
  const error = cause as { name?: string; message?: string; retriable?: boolean; type?: string };
  const detail = `${action}: ${error.name ?? 'Error'}${error.type ? ` ${error.type}` : ''}: ${error.message}`;
  const unavailable = error.retriable === true || UNAVAILABLE_ERRORS.has(error.name ?? '');
  return kafkaErrors(unavailable ? 'KAFKA_UNAVAILABLE' : 'KAFKA_REQUEST_FAILED', detail, { cause });
}

/** Run a kafkajs call, translating its failure. */
export async function translated<Result>(action: string, call: () => Promise<Result>): Promise<Result> {
  try {
    return await call();
  } catch (cause) {
    throw toKafkaError(action, cause);
  }
}
