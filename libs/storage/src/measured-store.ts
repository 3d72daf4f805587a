import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  type Counter,
  type Histogram,
  type Instruments,
  noInstruments,
  timedOutcome,
} from '@granary/observability';
import type { StorageErrorCode } from './errors.ts';
import type { ConditionalPutResult, ObjectStore } from './object-store.ts';
import { type S3Retry, S3_RETRY_CHANNEL } from './s3-requests.ts';

type Operation = 'get' | 'getWithVersion' | 'put' | 'putMany' | 'putIfMatch' | 'list' | 'delete';
type OperationLabel = 'driver' | 'operation' | 'outcome';

/** A putIfMatch that lost answers rather than throws; counted under the error code it stands for. */
const LOST: StorageErrorCode = 'STORAGE_CONFLICT';

/**
 * Object-store metrics, declared once per process on the app's instruments and shared by every
 * store it measures. Outcomes are `ok` or a storage error code, so the series are bounded.
 */
export class StorageInstruments {
  readonly operations: Counter<OperationLabel>;
  readonly durations: Histogram<OperationLabel>;
  readonly bytesRead: Counter<'driver'>;
  readonly bytesWritten: Counter<'driver'>;
  readonly s3Retries: Counter<'method'>;
  private s3RetryWatchers = 0;
  private readonly countRetry = (message: unknown) =>
    this.s3Retries.inc({ method: (message as S3Retry).method });

  constructor(instruments: Instruments = noInstruments) {
    const labelNames = ['driver', 'operation', 'outcome'] as const;
    this.operations = instruments.counter({
      name: 'granary_storage_operations_total',
      help: 'Object-store operations, by driver, operation and outcome (ok or the storage error code)',
      labelNames,
    });
    this.durations = instruments.histogram({
      name: 'granary_storage_operation_duration_seconds',
      help: 'Object-store operations from call to answer (retries included), by driver, operation and outcome',
      labelNames,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.bytesRead = instruments.counter({
      name: 'granary_storage_read_bytes_total',
      help: 'Bytes of the objects read (get, getWithVersion), by driver',
      labelNames: ['driver'],
    });
    this.bytesWritten = instruments.counter({
      name: 'granary_storage_written_bytes_total',
      help: 'Bytes of the objects written (put, putMany, putIfMatch that wrote), by driver',
      labelNames: ['driver'],
    });
    this.s3Retries = instruments.counter({
      name: 'granary_storage_s3_retries_total',
      help: 'S3 object requests sent again after a retriable failure (throttling, 5xx, timeout, network), by HTTP method',
      labelNames: ['method'],
    });
  }

  /**
   * Counts S3 retries while at least one measured S3 store is open. The requests publish them on a
   * diagnostics channel (they know no instruments); one subscription serves every store, so a retry
   * is counted once however many stores share these instruments.
   */
  watchS3Retries(): () => void {
    if (this.s3RetryWatchers++ === 0) subscribe(S3_RETRY_CHANNEL, this.countRetry);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.s3RetryWatchers === 0) unsubscribe(S3_RETRY_CHANNEL, this.countRetry);
    };
  }
}

/**
 * `store` with every operation counted and timed in `instruments`, by outcome. Behaves exactly as
 * `store` does: answers and errors pass through unchanged.
 */
export function measuredObjectStore(store: ObjectStore, instruments: StorageInstruments): ObjectStore {
  const driver = store.driver;
  const releaseRetries = driver === 's3' ? instruments.watchS3Retries() : undefined;
  const measure = <Result>(
    operation: Operation,
    run: () => Promise<Result>,
    outcomeOfResult?: (result: Result) => string,
  ): Promise<Result> =>
    timedOutcome(
      run,
      (outcome, seconds) => {
        const labels = { driver, operation, outcome };
        instruments.operations.inc(labels);
        instruments.durations.observe(labels, seconds);
      },
      outcomeOfResult,
    );
  const read = (bytes: Uint8Array | undefined) => {
    if (bytes) instruments.bytesRead.inc({ driver }, bytes.length);
    return 'ok';
  };
  const wrote = (bytes: number) => instruments.bytesWritten.inc({ driver }, bytes);
  return {
    driver,
    put: (key, bytes) => measure('put', () => store.put(key, bytes)).then(() => wrote(bytes.length)),
    putMany: (objects) =>
      measure('putMany', () => store.putMany(objects)).then(() =>
        wrote(objects.reduce((sum, object) => sum + object.bytes.length, 0)),
      ),
    get: (key) => measure('get', () => store.get(key), read),
    getWithVersion: (key) =>
      measure(
        'getWithVersion',
        () => store.getWithVersion(key),
        (found) => read(found?.bytes),
      ),
    putIfMatch: (key, bytes, expectedVersion) =>
      measure(
        'putIfMatch',
        () => store.putIfMatch(key, bytes, expectedVersion),
        (result: ConditionalPutResult) => {
          if (!result.written) return LOST;
          wrote(bytes.length);
          return 'ok';
        },
      ),
    conditionalWriteMechanism: () => store.conditionalWriteMechanism(),
    list: (prefix) => measure('list', () => store.list(prefix)),
    delete: (keys) => measure('delete', () => store.delete(keys)),
    close: async () => {
      releaseRetries?.();
      await store.close();
    },
  };
}
