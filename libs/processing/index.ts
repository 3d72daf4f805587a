/** Public surface of @granary/processing: the processor's core, testable without the app shell. */
export { NO_PUBLICATION, checkpointPublication } from './src/checkpoint-publication.ts';
export type {
  CheckpointPublication,
  OffsetCommitter,
  PublicationDeps,
  WatermarkPublisher,
} from './src/checkpoint-publication.ts';
export { compactMetric, readRawTail } from './src/compaction.ts';
export type { CompactionHooks } from './src/compaction.ts';
export { countingStore } from './src/counting-store.ts';
export type { WriteKind } from './src/counting-store.ts';
export { indexMetricDirectory } from './src/directory.ts';
export type { IndexedMetrics } from './src/directory.ts';
export { processingErrors } from './src/errors.ts';
export type { ProcessingErrorCode } from './src/errors.ts';
export { CRASH_POINTS, NO_FAULTS, crashAfter } from './src/faults.ts';
export type { CrashPoint, FaultInjector } from './src/faults.ts';
export { ProcessingInstruments } from './src/instruments.ts';
export { runJanitor } from './src/janitor.ts';
export type { DeletedMetrics, JanitorDeps } from './src/janitor.ts';
export { MetricState, truncateRawTail } from './src/metric-state.ts';
export { OwnedPartition } from './src/partition.ts';
export type { MeasureRecord, PartitionDeps, PartitionSettings, Rejection } from './src/partition.ts';
export { PolicyCache, compilePolicy } from './src/policy-cache.ts';
export type {
  CompiledPolicy,
  IndexedPolicy,
  MetricDescription,
  MetricDirectory,
  MetricEntry,
} from './src/policy-cache.ts';
export { Processor } from './src/processor.ts';
export type { ProcessorDeps, ProcessorSettings } from './src/processor.ts';
