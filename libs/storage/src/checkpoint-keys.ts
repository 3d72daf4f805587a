import { storageErrors } from './errors.ts';
import { assertValidKey } from './keys.ts';
import type { ObjectStore } from './object-store.ts';

/**
 * Checkpoint objects of one Kafka partition: `_checkpoints/<topic>/<partition>/<seq>-<generation>`
 * segments and the `MANIFEST`. The writer's generation is part of a segment's name so that a zombie
 * writer and the partition's new owner, both counting on from the same sequence number, never write
 * the same immutable object (docs/adr/0005-manifest-fencing.md). Zero padding makes listing order
 * sequence order; `MANIFEST` sorts after every segment.
 */

const SEQ_DIGITS = 16;
const GENERATION_DIGITS = 10;
const SEGMENT_NAME = new RegExp(`^(\\d{${SEQ_DIGITS}})-(\\d{${GENERATION_DIGITS}})$`);

export interface SegmentId {
  readonly seq: number;
  readonly generation: number;
}

function assertCounter(name: string, value: number, digits: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || String(value).length > digits) {
    throw storageErrors(
      'STORAGE_INVALID_KEY',
      `${name} ${value} is not an integer of at most ${digits} digits`,
    );
  }
}

export function checkpointPrefix(topic: string, partition: number): string {
  assertCounter('partition', partition, GENERATION_DIGITS);
  const prefix = `_checkpoints/${topic}/${partition}/`;
  assertValidKey(`${prefix}MANIFEST`);
  return prefix;
}

export function manifestKey(topic: string, partition: number): string {
  return `${checkpointPrefix(topic, partition)}MANIFEST`;
}

export function segmentKey(topic: string, partition: number, segment: SegmentId): string {
  assertCounter('seq', segment.seq, SEQ_DIGITS);
  assertCounter('generation', segment.generation, GENERATION_DIGITS);
  const name = `${String(segment.seq).padStart(SEQ_DIGITS, '0')}-${String(segment.generation).padStart(GENERATION_DIGITS, '0')}`;
  return `${checkpointPrefix(topic, partition)}${name}`;
}

/** The segment a key of this partition names, or undefined (the manifest, foreign objects). */
export function parseSegmentKey(topic: string, partition: number, key: string): SegmentId | undefined {
  const prefix = checkpointPrefix(topic, partition);
  if (!key.startsWith(prefix)) return undefined;
  const match = SEGMENT_NAME.exec(key.slice(prefix.length));
  return match ? { seq: Number(match[1]), generation: Number(match[2]) } : undefined;
}

/**
 * Every segment stored for a partition, in sequence order, live or not: what garbage collection
 * compares with the manifest to find folded segments and the orphans of a fenced-off writer.
 */
export async function listSegments(
  store: ObjectStore,
  topic: string,
  partition: number,
): Promise<SegmentId[]> {
  const keys = await store.list(checkpointPrefix(topic, partition));
  return keys.flatMap((key) => parseSegmentKey(topic, partition, key) ?? []);
}
