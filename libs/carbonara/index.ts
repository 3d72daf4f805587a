/** Public surface of @granary/carbonara: Gnocchi's time-series engine, pure (no I/O, no clock). */
export { resample } from './src/aggregate.ts';
export { decodeRawTail, decodeSplit, encodeRawTail, encodeSplit } from './src/codec.ts';
export { type CarbonaraError, type CarbonaraErrorCode, carbonaraErrors } from './src/errors.ts';
export {
  type AggregationChange,
  type ApplyResult,
  MetricSeries,
  type MetricSnapshot,
  type TakenSeries,
} from './src/metric-series.ts';
export { AGGREGATION_METHODS, DEFAULT_AGGREGATION_METHODS, isAggregationMethod } from './src/methods.ts';
export {
  type Points,
  concatPoints,
  emptyPoints,
  lowerBound,
  mergePoints,
  pointsInRange,
  truncateByTimespan,
} from './src/points.ts';
export {
  type Aggregation,
  type ArchivePolicy,
  type ArchivePolicyInput,
  type ArchivePolicyItem,
  type ArchivePolicyItemInput,
  DEFAULT_ARCHIVE_POLICIES,
  type DefaultArchivePolicyName,
  createArchivePolicy,
} from './src/policy.ts';
export {
  CALENDAR_UNITS,
  type CalendarUnit,
  type Granularity,
  POINTS_PER_SPLIT,
  US_PER_SECOND,
  floorTimestamp,
  nextSplitKey,
  splitKeyOf,
} from './src/time.ts';
export {
  ARITHMETIC_ALIASES,
  type Arithmetic,
  COMPARISON_ALIASES,
  type Comparison,
} from './src/comparison.ts';
export { type TimespanResult, parseTimespan, timespanSeconds } from './src/timespan.ts';
export {
  type TimestampResult,
  parseIsoTimestamp,
  parseTimestamp,
  readTimestamp,
  timestampForm,
} from './src/timestamp.ts';
