/** Public surface of @granary/reader: a metric's aggregates from object storage, fresh on demand. */
export { measuresBacklog } from './src/backlog.ts';
export type { BacklogDeps, PartitionBacklog } from './src/backlog.ts';
export { readerErrors } from './src/errors.ts';
export type { ReaderErrorCode } from './src/errors.ts';
export { StoredMeasureReader } from './src/reader.ts';
export type {
  DecodedSplit,
  PartitionRefresher,
  ReadQuery,
  ReadSeries,
  ReadableMetric,
  StoredMeasureReaderDeps,
} from './src/reader.ts';
