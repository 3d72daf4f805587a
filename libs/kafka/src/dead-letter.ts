import { type BackoffOptions, GranaryError, isRetriable, retryWithBackoff } from '@granary/errors';
import type { Logger } from '@granary/observability';
import type { KafkaErrorCode } from './errors.ts';
import type { ConsumedRecord, OutgoingRecord, RecordBatch } from './records.ts';

/** Header names of a dead letter; the record's own headers are kept beside them. */
export const DEAD_LETTER_HEADERS = {
  errorCode: 'granary.error.code',
  errorMessage: 'granary.error.message',
  sourceTopic: 'granary.source.topic',
  sourcePartition: 'granary.source.partition',
  sourceOffset: 'granary.source.offset',
} as const;

/** Naming convention of dead-letter topics (`granary.samples` → `granary.samples.dlq`). */
export function deadLetterTopicFor(topic: string): string {
  return `${topic}.dlq`;
}

/** The code a dead letter carries: the error's own, or KAFKA_HANDLER_FAILED for uncoded errors. */
export function errorCodeOf(error: unknown): string {
  const uncoded: KafkaErrorCode = 'KAFKA_HANDLER_FAILED';
  return error instanceof GranaryError ? error.code : uncoded;
}

/**
 * The dead letter of `record`: its original key and bytes, untouched so it can be redriven, with
 * headers saying why it failed and where it came from. Keyed like the original, so dead letters of
 * one resource or metric stay in order.
 */
export function toDeadLetter(
  record: ConsumedRecord,
  error: unknown,
  topic = deadLetterTopicFor(record.topic),
): OutgoingRecord {
  return {
    topic,
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      [DEAD_LETTER_HEADERS.errorCode]: errorCodeOf(error),
      [DEAD_LETTER_HEADERS.errorMessage]: error instanceof Error ? error.message : String(error),
      [DEAD_LETTER_HEADERS.sourceTopic]: record.topic,
      [DEAD_LETTER_HEADERS.sourcePartition]: String(record.partition),
      [DEAD_LETTER_HEADERS.sourceOffset]: record.offset,
    },
  };
}

export interface DeadLetterInfo {
  errorCode: string;
  errorMessage: string;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: string;
}

/** Read back the reason and origin of a dead letter (redrive, inspection); undefined if it is not one. */
export function readDeadLetter(record: Pick<ConsumedRecord, 'headers'>): DeadLetterInfo | undefined {
  const text = (name: string) => record.headers[name]?.toString('utf8');
  const errorCode = text(DEAD_LETTER_HEADERS.errorCode);
  const sourceTopic = text(DEAD_LETTER_HEADERS.sourceTopic);
  if (errorCode === undefined || sourceTopic === undefined) return undefined;
  return {
    errorCode,
    errorMessage: text(DEAD_LETTER_HEADERS.errorMessage) ?? '',
    sourceTopic,
    sourcePartition: Number(text(DEAD_LETTER_HEADERS.sourcePartition)),
    sourceOffset: text(DEAD_LETTER_HEADERS.sourceOffset) ?? '',
  };
}

export interface EachRecordOptions {
  /** Where dead letters go; by default `<source topic>.dlq`. */
  deadLetterTopic?: string;
  backoff?: Partial<BackoffOptions>;
  logger?: Logger;
}

/**
 * Run `handle` on each record of `batch`, in order. A retriable failure is retried with backoff,
 * and rethrown once retries are spent so that the batch is not committed and comes back. Any other
 * failure is a property of the record: it goes to the dead-letter topic and the batch goes on.
 * Resolves after the dead letters are acknowledged, so committing the batch afterwards loses nothing.
 */
export async function handleEachRecord(
  batch: RecordBatch,
  handle: (record: ConsumedRecord) => Promise<void>,
  deadLetters: { send(records: readonly OutgoingRecord[]): Promise<void> },
  options: EachRecordOptions = {},
): Promise<{ handled: number; deadLettered: number }> {
  const letters: OutgoingRecord[] = [];
  for (const record of batch.records) {
    try {
      await retryWithBackoff(() => handle(record), {
        ...options.backoff,
        onRetry: (error, attempt, delayMs) =>
          options.logger?.warn(
            { err: error, offset: record.offset, attempt, delayMs },
            'record failed; retrying',
          ),
      });
    } catch (error) {
      if (isRetriable(error)) throw error;
      options.logger?.warn(
        { err: error, topic: record.topic, partition: record.partition, offset: record.offset },
        'record sent to the dead-letter topic',
      );
      letters.push(toDeadLetter(record, error, options.deadLetterTopic));
    }
  }
  await deadLetters.send(letters);
  return { handled: batch.records.length - letters.length, deadLettered: letters.length };
}
