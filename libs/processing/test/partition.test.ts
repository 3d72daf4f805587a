import { createLogger, createRegistry, prometheusInstruments } from '@granary/observability';
import { type ObjectStore, rawTailKey, readManifest } from '@granary/storage';
import { compactedObjects } from '@granary/testing/object-store';
import { MEDIUM, START_US } from '@granary/testing/stream';
import { describe, expect, it } from 'vitest';
import {
  type MeasureRecord,
  NO_FAULTS,
  OwnedPartition,
  type PartitionDeps,
  PolicyCache,
  ProcessingInstruments,
  processingErrors,
} from '../index.ts';
import { SETTINGS, TOPIC, activeMetrics, directoryOf, storePerTest } from './support.ts';

const PARTITION = 3;
const ACTIVE = '6a0e6f3c-1c1e-4d3a-9a55-0c2f4a1b7d01';
const DELETED = '6a0e6f3c-1c1e-4d3a-9a55-0c2f4a1b7d02';
const UNKNOWN = '6a0e6f3c-1c1e-4d3a-9a55-0c2f4a1b7d03';
const MINUTE_US = 60_000_000;
const HOUR_US = 60 * MINUTE_US;

const store = storePerTest();

/** One owner of PARTITION over `target`, with the checkpoints it reported. */
function deps(target: ObjectStore) {
  const checkpoints: { partition: number; offset: number }[] = [];
  const instruments = new ProcessingInstruments(prometheusInstruments(createRegistry('partition-test')));
  let clock = 1_000_000;
  const partitionDeps: PartitionDeps = {
    store: target,
    topic: TOPIC,
    policies: new PolicyCache(
      directoryOf({ ...activeMetrics([ACTIVE], MEDIUM), [DELETED]: { status: 'delete' } }),
    ),
    instruments,
    faults: NO_FAULTS,
    logger: createLogger('partition-test', 'silent'),
    nowUs: () => clock++,
    publication: {
      publish: async (partition, offset) => {
        checkpoints.push({ partition, offset });
        return true;
      },
    },
    settings: SETTINGS,
  };
  return { deps: partitionDeps, checkpoints, instruments };
}

/** `count` one-point records of `metricId` from `offset`: point `first + i` at `(first + i) × step`. */
function records(
  metricId: string,
  offset: number,
  count: number,
  first = 0,
  stepUs = MINUTE_US,
): MeasureRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    offset: offset + i,
    metricId,
    timestamps: [START_US + (first + i) * stepUs],
    values: [first + i],
  }));
}

const segmentKeys = async (target: ObjectStore) =>
  (await target.list('_checkpoints/')).filter((key) => !key.endsWith('/MANIFEST'));

describe('OwnedPartition', () => {
  it('claims a fresh partition at offset 0 and each new claim takes the next generation', async () => {
    const target = store();
    const first = await OwnedPartition.claim(deps(target).deps, PARTITION);
    expect([first.generation, first.resumeOffset, first.liveSegments]).toEqual([1, 0, []]);
    const second = await OwnedPartition.claim(deps(target).deps, PARTITION);
    expect(second.generation).toBe(2);
    expect((await readManifest(target, TOPIC, PARTITION))?.manifest.generation).toBe(2);
  });

  it('applies known metrics, dead-letters unknown and malformed records, drops deleted metrics', async () => {
    const target = store();
    const { deps: partitionDeps, instruments } = deps(target);
    const owned = await OwnedPartition.claim(partitionDeps, PARTITION);
    const malformed: MeasureRecord = { offset: 3, metricId: ACTIVE, timestamps: [START_US], values: [1, 2] };
    const rejections = await owned.apply(
      [...records(ACTIVE, 0, 1), ...records(UNKNOWN, 1, 1), ...records(DELETED, 2, 1), malformed],
      4,
    );
    expect(rejections.map((r) => [r.index, processingErrors.is(r.error) && r.error.code])).toEqual([
      [1, 'PROCESSING_UNKNOWN_METRIC'],
      [3, 'PROCESSING_INVALID_MEASURES'],
    ]);
    expect(owned.appliedOffset).toBe(4);
    expect(owned.pendingOffsets).toBe(4);
    expect(owned.metricsInMemory).toBe(1);
    expect((await instruments.measuresApplied.readings())[0]?.value).toBe(1);
    expect(await instruments.measuresDropped.readings()).toEqual([
      { labels: { reason: 'metric_deleted' }, value: 1 },
    ]);
  });

  it('checkpoints a segment and the manifest, then reports the offset; an idle checkpoint writes nothing', async () => {
    const target = store();
    const { deps: partitionDeps, checkpoints } = deps(target);
    const owned = await OwnedPartition.claim(partitionDeps, PARTITION);
    await owned.apply(records(ACTIVE, 0, 5), 5);
    await owned.checkpoint();
    const manifest = (await readManifest(target, TOPIC, PARTITION))?.manifest;
    expect(manifest?.offset).toBe(5);
    expect(manifest?.segments).toMatchObject([{ seq: 0, generation: 1, firstOffset: 0, lastOffset: 4 }]);
    expect(await segmentKeys(target)).toHaveLength(1);
    expect(checkpoints).toEqual([{ partition: PARTITION, offset: 5 }]);
    expect(owned.pendingOffsets).toBe(0);

    await owned.checkpoint();
    expect(checkpoints).toHaveLength(1);
    expect(await segmentKeys(target)).toHaveLength(1);

    // Offsets that changed no metric (only a deleted one's measures) move the manifest, not a segment.
    await owned.apply(records(DELETED, 5, 2), 7);
    await owned.checkpoint();
    expect((await readManifest(target, TOPIC, PARTITION))?.manifest).toMatchObject({ offset: 7 });
    expect(await segmentKeys(target)).toHaveLength(1);
    expect(checkpoints.at(-1)).toEqual({ partition: PARTITION, offset: 7 });
  });

  it('an unpublished checkpoint (steps 4–5 failed) is published again by the next one, even an idle one', async () => {
    const target = store();
    const attempts: number[] = [];
    const owned = await OwnedPartition.claim(
      {
        ...deps(target).deps,
        publication: {
          publish: async (partition, offset) => {
            expect(partition).toBe(PARTITION);
            attempts.push(offset);
            return attempts.length > 1;
          },
        },
      },
      PARTITION,
    );
    await owned.apply(records(ACTIVE, 0, 5), 5);
    await owned.checkpoint();
    // The manifest is the truth whatever happened after it: the partition goes on, not broken.
    expect((await readManifest(target, TOPIC, PARTITION))?.manifest.offset).toBe(5);
    expect([owned.broken, attempts]).toEqual([false, [5]]);

    await owned.checkpoint();
    expect(attempts).toEqual([5, 5]);
    expect(await segmentKeys(target)).toHaveLength(1);
    await owned.checkpoint();
    expect(attempts).toEqual([5, 5]);
  });

  it("a new owner resumes from the checkpoint with the live segments' points", async () => {
    const target = store();
    const first = await OwnedPartition.claim(deps(target).deps, PARTITION);
    await first.apply(records(ACTIVE, 0, 3, 0, HOUR_US), 3);
    await first.checkpoint();
    // Applied but never checkpointed: lost with the first owner, read again from Kafka by the next.
    await first.apply(records(ACTIVE, 3, 2, 3, HOUR_US), 5);

    const { deps: secondDeps, instruments } = deps(target);
    const second = await OwnedPartition.claim(secondDeps, PARTITION);
    expect(second.resumeOffset).toBe(3);
    expect(second.liveSegments).toHaveLength(1);
    // The loaded points are its history: hour 0 is older than the policy's back window allows.
    await second.apply([...records(ACTIVE, 3, 1, 0, HOUR_US), ...records(ACTIVE, 4, 1, 3, HOUR_US)], 5);
    expect((await instruments.pointsDroppedTooOld.readings())[0]?.value).toBe(1);
    expect((await instruments.measuresApplied.readings())[0]?.value).toBe(1);
  });

  it('is fenced by a newer owner: its next checkpoint fails and the partition is broken', async () => {
    const target = store();
    const { deps: oldDeps, checkpoints, instruments } = deps(target);
    const old = await OwnedPartition.claim(oldDeps, PARTITION);
    await old.apply(records(ACTIVE, 0, 2), 2);
    await OwnedPartition.claim(deps(target).deps, PARTITION);

    const lost = await old.checkpoint().catch((error: unknown) => error);
    expect(processingErrors.is(lost, 'PROCESSING_PARTITION_LOST')).toBe(true);
    expect(old.broken).toBe(true);
    expect(checkpoints).toEqual([]);
    expect((await instruments.fenced.readings())[0]?.value).toBe(1);
    await expect(old.apply(records(ACTIVE, 2, 1), 3)).rejects.toBe(lost);
    expect((await readManifest(target, TOPIC, PARTITION))?.manifest).toMatchObject({
      generation: 2,
      offset: 0,
    });
  });

  it('compacts live segments into the Gnocchi layout and deletes them, with segments no manifest names', async () => {
    const target = store();
    const fenced = await OwnedPartition.claim(deps(target).deps, PARTITION);
    const owned = await OwnedPartition.claim(deps(target).deps, PARTITION);
    // The fenced owner's segment is stored, but its manifest write loses: no manifest names it.
    await fenced.apply(records(ACTIVE, 0, 2), 2);
    await expect(fenced.checkpoint()).rejects.toThrow();
    await owned.apply(records(ACTIVE, 0, 3), 3);
    await owned.checkpoint();
    expect(await segmentKeys(target)).toHaveLength(2);
    expect(owned.liveSegments).toHaveLength(1);

    await owned.compact();
    expect(owned.liveSegments).toEqual([]);
    expect((await readManifest(target, TOPIC, PARTITION))?.manifest.segments).toEqual([]);
    expect(await segmentKeys(target)).toEqual([]);
    const objects = [...(await compactedObjects(target)).keys()];
    expect(objects).toContain(rawTailKey(ACTIVE));
    expect(objects.length).toBeGreaterThan(1);
  });

  it('release writes what is pending; rebuild refuses a partition that applied nothing', async () => {
    const target = store();
    const { deps: partitionDeps, checkpoints } = deps(target);
    const owned = await OwnedPartition.claim(partitionDeps, PARTITION);
    await expect(owned.rebuild(ACTIVE, 0, async () => {})).rejects.toSatisfy((error: unknown) =>
      processingErrors.is(error, 'PROCESSING_NOTHING_APPLIED'),
    );
    await owned.apply(records(ACTIVE, 0, 2), 2);
    await owned.release();
    expect(checkpoints).toEqual([{ partition: PARTITION, offset: 2 }]);
    expect((await readManifest(target, TOPIC, PARTITION))?.manifest.offset).toBe(2);
  });
});
