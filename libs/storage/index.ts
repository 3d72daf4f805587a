/** Public surface of @granary/storage: object storage drivers, key layout, checkpoint codecs. */
export { storageErrors } from './src/errors.ts';
export type { StorageErrorCode } from './src/errors.ts';
export type {
  ConditionalPutResult,
  ConditionalWriteMechanism,
  ObjectStore,
  ObjectVersion,
  StoredObject,
  VersionedObject,
} from './src/object-store.ts';
export { FileObjectStore } from './src/file-store.ts';
export type { FileStoreOptions } from './src/file-store.ts';
export { S3ObjectStore } from './src/s3-store.ts';
export type { ConditionalWriteMode, S3StoreOptions } from './src/s3-store.ts';
export { createObjectStore } from './src/create-object-store.ts';
export type { CreateObjectStoreOptions } from './src/create-object-store.ts';
export { StorageInstruments, measuredObjectStore } from './src/measured-store.ts';
export {
  deleteMetric,
  listSplitKeys,
  parseSplitObjectKey,
  rawTailKey,
  secondsText,
  splitObjectKey,
} from './src/gnocchi-layout.ts';
export type { SplitRef } from './src/gnocchi-layout.ts';
export {
  checkpointPrefix,
  listSegments,
  manifestKey,
  parseSegmentKey,
  segmentKey,
} from './src/checkpoint-keys.ts';
export type { SegmentId } from './src/checkpoint-keys.ts';
export { foldSegments } from './src/fold.ts';
export type { FoldedAggregate, FoldedMetric } from './src/fold.ts';
export { SEGMENT_FORMAT_VERSION, decodeSegment, encodeSegment } from './src/segment-codec.ts';
export type {
  AggregateDelta,
  MetricDelta,
  PointColumns,
  Segment,
  SegmentInput,
} from './src/segment-codec.ts';
export {
  MANIFEST_FORMAT_VERSION,
  claimPartition,
  decodeManifest,
  encodeManifest,
  liveSegmentKeys,
  readManifest,
  writeManifest,
} from './src/manifest.ts';
export type { LiveSegment, MetricReset, PartitionManifest, VersionedManifest } from './src/manifest.ts';
