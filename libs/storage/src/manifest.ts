import { crc32 } from 'node:zlib';
import { type SegmentId, manifestKey, segmentKey } from './checkpoint-keys.ts';
import { storageErrors } from './errors.ts';
import type { ObjectStore, ObjectVersion } from './object-store.ts';

/**
 * The partition MANIFEST: which segments are live and where in Kafka the partition's state ends.
 * Writing it is the checkpoint's commit point, always by compare-and-set on the version that was
 * read, so a writer that lost the partition cannot overwrite its new owner's manifest
 * (docs/adr/0005-manifest-fencing.md). Stored as JSON with a CRC-32 of its canonical content.
 */

export interface LiveSegment extends SegmentId {
  readonly firstOffset: number;
  readonly lastOffset: number;
}

/**
 * A metric whose state was rebuilt (`granary rebuild`): segment `seq` holds its whole state, so its
 * compacted objects and its deltas in earlier segments are void. Compaction deletes its objects
 * when it folds that segment and then drops the entry; readers skip what is void meanwhile.
 */
export interface MetricReset {
  readonly metricId: string;
  readonly seq: number;
}

export interface PartitionManifest {
  readonly topic: string;
  readonly partition: number;
  /** Generation of the owner that wrote this manifest; a new owner claims with a larger one. */
  readonly generation: number;
  /** Next Kafka offset to consume: everything before it is in the segments or compacted splits. */
  readonly offset: number;
  /** Segments not yet folded into compacted splits, oldest first. */
  readonly segments: readonly LiveSegment[];
  /** Rebuilt metrics whose segment is still live; absent when none. */
  readonly resets?: readonly MetricReset[] | undefined;
  /** Supplied by the caller: the codec has no clock. */
  readonly updatedAtUs: number;
}

export interface VersionedManifest {
  readonly manifest: PartitionManifest;
  readonly version: ObjectVersion;
}

export const MANIFEST_FORMAT_VERSION = 1;
const FORMAT_NAME = 'granary-manifest';

function canonicalJson(manifest: PartitionManifest): string {
  const { topic, partition, generation, offset, updatedAtUs } = manifest;
  const segments = manifest.segments.map(({ seq, generation, firstOffset, lastOffset }) => ({
    seq,
    generation,
    firstOffset,
    lastOffset,
  }));
  // Without resets the document is exactly what it was before they existed.
  const resets = manifest.resets?.length
    ? { resets: manifest.resets.map(({ metricId, seq }) => ({ metricId, seq })) }
    : {};
  return JSON.stringify({ topic, partition, generation, offset, updatedAtUs, segments, ...resets });
}

function checksumOf(canonical: string): string {
  return crc32(canonical).toString(16).padStart(8, '0');
}

export function encodeManifest(manifest: PartitionManifest): Uint8Array {
  const canonical = canonicalJson(manifest);
  const document = {
    format: FORMAT_NAME,
    version: MANIFEST_FORMAT_VERSION,
    checksum: checksumOf(canonical),
    manifest: JSON.parse(canonical) as unknown,
  };
  return new TextEncoder().encode(`${JSON.stringify(document, null, 1)}\n`);
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** Parse and verify a manifest; anything else throws STORAGE_CORRUPT_MANIFEST. */
export function decodeManifest(bytes: Uint8Array): PartitionManifest {
  let document: { format?: unknown; version?: unknown; checksum?: unknown; manifest?: unknown };
  try {
    document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw storageErrors('STORAGE_CORRUPT_MANIFEST', 'not JSON', { cause: err });
  }
  if (typeof document !== 'object' || document === null || document.format !== FORMAT_NAME) {
    throw storageErrors('STORAGE_CORRUPT_MANIFEST', 'not a manifest');
  }
  if (document.version !== MANIFEST_FORMAT_VERSION) {
    throw storageErrors('STORAGE_CORRUPT_MANIFEST', `unsupported format version ${String(document.version)}`);
  }
  const manifest = document.manifest as PartitionManifest;
  const wellFormed =
    typeof manifest === 'object' &&
    manifest !== null &&
    typeof manifest.topic === 'string' &&
    [manifest.partition, manifest.generation, manifest.offset].every(isCount) &&
    typeof manifest.updatedAtUs === 'number' &&
    Array.isArray(manifest.segments) &&
    manifest.segments.every(
      (segment) =>
        typeof segment === 'object' &&
        segment !== null &&
        [segment.seq, segment.generation, segment.firstOffset, segment.lastOffset].every(isCount),
    ) &&
    (manifest.resets === undefined ||
      (Array.isArray(manifest.resets) &&
        manifest.resets.every(
          (reset) =>
            typeof reset === 'object' &&
            reset !== null &&
            typeof reset.metricId === 'string' &&
            isCount(reset.seq),
        )));
  if (!wellFormed) throw storageErrors('STORAGE_CORRUPT_MANIFEST', 'missing or mistyped fields');
  const canonical = canonicalJson(manifest);
  if (checksumOf(canonical) !== document.checksum) {
    throw storageErrors('STORAGE_CORRUPT_MANIFEST', 'checksum mismatch');
  }
  return JSON.parse(canonical) as PartitionManifest;
}

/** Keys of the manifest's live segments, oldest first. */
export function liveSegmentKeys(manifest: PartitionManifest): string[] {
  return manifest.segments.map((segment) => segmentKey(manifest.topic, manifest.partition, segment));
}

export async function readManifest(
  store: ObjectStore,
  topic: string,
  partition: number,
): Promise<VersionedManifest | undefined> {
  const object = await store.getWithVersion(manifestKey(topic, partition));
  return object && { manifest: decodeManifest(object.bytes), version: object.version };
}

/**
 * Commit a manifest over the version read (`null`: there must be none yet). Throws STORAGE_CONFLICT
 * when someone else wrote in between; for a processor this means the partition is no longer its own.
 */
export async function writeManifest(
  store: ObjectStore,
  manifest: PartitionManifest,
  expectedVersion: ObjectVersion | null,
): Promise<ObjectVersion> {
  const key = manifestKey(manifest.topic, manifest.partition);
  const result = await store.putIfMatch(key, encodeManifest(manifest), expectedVersion);
  if (!result.written) {
    throw storageErrors('STORAGE_CONFLICT', key, {
      details: { expectedVersion, currentVersion: result.currentVersion, generation: manifest.generation },
    });
  }
  return result.version;
}

/**
 * Take ownership of a partition on assignment: read the manifest and rewrite it under `generation`,
 * which must be newer than the one found. From then on every manifest write of the previous owner
 * fails its compare-and-set. Returns the state to resume from and the version to write over next.
 */
export async function claimPartition(
  store: ObjectStore,
  topic: string,
  partition: number,
  generation: number,
  updatedAtUs: number,
): Promise<VersionedManifest> {
  const current = await readManifest(store, topic, partition);
  if (current && current.manifest.generation >= generation) {
    throw storageErrors('STORAGE_CONFLICT', `${manifestKey(topic, partition)} already owned`, {
      details: { ownerGeneration: current.manifest.generation, generation },
    });
  }
  const manifest: PartitionManifest = {
    topic,
    partition,
    offset: 0,
    segments: [],
    ...current?.manifest,
    generation,
    updatedAtUs,
  };
  const version = await writeManifest(store, manifest, current?.version ?? null);
  return { manifest, version };
}
