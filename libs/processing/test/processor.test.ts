import {
  DEFAULT_ARCHIVE_POLICIES,
  MetricSeries,
  decodeRawTail,
  decodeSplit,
  encodeRawTail,
} from '@granary/carbonara';
import { createRegistry, prometheusInstruments } from '@granary/observability';
import {
  type ObjectStore,
  parseSplitObjectKey,
  rawTailKey,
  readManifest,
  splitObjectKey,
} from '@granary/storage';
import { compactedObjects } from '@granary/testing/object-store';
import { MEDIUM, SHORT_WITH_RATE, type StreamBatch, generateStream } from '@granary/testing/stream';
import { describe, expect, it } from 'vitest';
import { ProcessingInstruments, compilePolicy, countingStore, processingErrors } from '../index.ts';
import { TOPIC, activeMetrics, createHarness, directoryOf, recordBatch, storePerTest } from './support.ts';

const store = storePerTest();

/** Half the metrics on `medium`, half on a short policy with rate methods and a back window. */
function scenario(seed: number) {
  const { metricIds, batches } = generateStream({
    seed,
    metrics: 24,
    batchesPerMetric: 25,
    measuresPerBatch: 10,
    stepUs: 20_000_000,
    lateShare: 0.15,
  });
  const half = metricIds.length / 2;
  const directory = directoryOf({
    ...activeMetrics(metricIds.slice(0, half), MEDIUM),
    ...activeMetrics(metricIds.slice(half), SHORT_WITH_RATE),
  });
  return { metricIds, batches, directory };
}

const CHUNK = 40;

/** Feeds `batches` (all in partition 0) from `from`, checkpointing every `every` chunks. */
async function feed(
  processor: ReturnType<typeof createHarness>['processor'],
  batches: readonly StreamBatch[],
  from: number,
  to: number,
  every: number,
): Promise<void> {
  let chunks = 0;
  for (let offset = from; offset < to; offset += CHUNK) {
    await processor.handleBatch(recordBatch(0, offset, batches.slice(offset, Math.min(to, offset + CHUNK))));
    if (++chunks % every === 0) await processor.checkpointAll();
  }
}

/** Claims partition 0 on a fresh processor, compacts everything and releases it. */
async function compactEverything(target: ObjectStore, directory: ReturnType<typeof directoryOf>) {
  const { processor } = createHarness(target, directory);
  await processor.assign([0]);
  await processor.compactAll();
  await processor.stop();
}

describe('Processor over the file store', () => {
  it('compacts into splits that hold exactly the in-memory aggregates, and the raw tail as none_v3', async () => {
    const { metricIds, batches, directory } = scenario(1);
    const target = store();
    const { processor } = createHarness(target, directory);
    await processor.assign([0]);
    await feed(processor, batches, 0, batches.length, 3);
    await processor.stop();
    await compactEverything(target, directory);

    const objects = await compactedObjects(target);
    for (const [index, metricId] of metricIds.entries()) {
      const compiled = compilePolicy(index < metricIds.length / 2 ? MEDIUM : SHORT_WITH_RATE);
      const series = new MetricSeries(compiled.policy);
      for (const batch of batches)
        if (batch.metricId === metricId) series.apply(batch.timestamps, batch.values);
      expect(objects.get(rawTailKey(metricId))).toEqual(Buffer.from(encodeRawTail(series.rawTail())));
      for (const aggregation of compiled.policy.aggregations) {
        const stored = [...objects]
          .map(([key, bytes]) => ({ split: parseSplitObjectKey(key), bytes }))
          .filter(
            ({ split }) =>
              split?.metricId === metricId &&
              split.method === aggregation.method &&
              split.granularityUs === aggregation.granularity,
          );
        const expected = series.points(aggregation.method, aggregation.granularity);
        const decoded = stored.flatMap(({ split, bytes }) => {
          const points = decodeSplit(split!.splitKeyUs, aggregation.granularity, bytes);
          if (points instanceof Error) throw points;
          return [...points.timestamps].map((ts, i) => [ts, points.values[i]]);
        });
        expect(decoded.map(([ts]) => ts)).toEqual([...expected.timestamps]);
        expect(decoded.map(([, value]) => value)).toEqual([...expected.values]);
      }
    }
    expect([...objects.keys()].some((key) => key.includes('rate:mean_1.0_'))).toBe(true);
  });

  it('gives byte-identical compacted state whatever the crashes, replays and compaction schedule', async () => {
    const { batches, directory } = scenario(2);
    const reference = store();
    {
      const { processor } = createHarness(reference, directory);
      await processor.assign([0]);
      await feed(processor, batches, 0, batches.length, 4);
      await processor.stop();
      await compactEverything(reference, directory);
    }

    const crashed = store();
    // Each life: apply up to `until`, checkpointing every `every` chunks, compacting or not, then
    // vanish without a final checkpoint (what kill -9 leaves behind).
    const lives = [
      { until: 130, every: 1, compact: false },
      { until: 300, every: 2, compact: true },
      { until: 310, every: 5, compact: false },
      { until: 520, every: 1, compact: true },
    ];
    for (const life of lives) {
      const harness = createHarness(crashed, directory);
      await harness.processor.assign([0]);
      const from = harness.seeks.get(0) as number;
      await feed(harness.processor, batches, from, life.until, life.every);
      if (life.compact) await harness.processor.compactDue();
    }
    const last = createHarness(crashed, directory);
    await last.processor.assign([0]);
    await feed(last.processor, batches, last.seeks.get(0) as number, batches.length, 2);
    await last.processor.stop();
    await compactEverything(crashed, directory);

    const expected = await compactedObjects(reference);
    const actual = await compactedObjects(crashed);
    expect([...actual.keys()]).toEqual([...expected.keys()]);
    for (const [key, bytes] of expected) expect(actual.get(key), key).toEqual(bytes);
    expect(expected.size).toBeGreaterThan(24 * 6);
  });

  it('resumes from the manifest offset with the raw tail rebuilt from compacted state and live segments', async () => {
    const { metricIds, batches, directory } = scenario(3);
    const target = store();
    const first = createHarness(target, directory);
    await first.processor.assign([0]);
    expect(first.seeks.get(0)).toBe(0);
    await feed(first.processor, batches, 0, 200, 1);
    await first.processor.compactDue();
    await feed(first.processor, batches, 200, 280, 1);
    const manifest = (await readManifest(target, TOPIC, 0))!.manifest;
    expect(manifest.offset).toBe(280);
    expect(manifest.segments.length).toBeGreaterThan(0);

    const second = createHarness(target, directory);
    await second.processor.assign([0]);
    expect(second.seeks.get(0)).toBe(280);
    const metricId = metricIds[0]!;
    const compiled = compilePolicy(MEDIUM);
    const series = new MetricSeries(compiled.policy);
    for (const batch of batches.slice(0, 280)) {
      if (batch.metricId === metricId) series.apply(batch.timestamps, batch.values);
    }
    // Applying one more batch to the restored metric checkpoints the same raw tail as memory has.
    const next = batches.slice(280).find((batch) => batch.metricId === metricId)!;
    series.apply(next.timestamps, next.values);
    await second.processor.handleBatch(recordBatch(0, 280, [next]));
    await second.processor.stop();
    await compactEverything(target, directory);
    const raw = decodeRawTail((await target.get(rawTailKey(metricId)))!);
    if (raw instanceof Error) throw raw;
    expect([...raw.timestamps]).toEqual([...series.rawTail().timestamps]);
    expect([...raw.values]).toEqual([...series.rawTail().values]);
  });

  it('writes one segment and one manifest per partition per checkpoint, whatever the number of metrics', async () => {
    const { batches, directory } = scenario(4);
    const target = store();
    // Counted as the processor app counts them: through countingStore.
    const counted = new ProcessingInstruments(
      prometheusInstruments(createRegistry('processing-test-writes')),
    );
    const harness = createHarness(countingStore(target, counted), directory);
    await harness.processor.assign([0, 1]);
    const writes = async (kind: string) =>
      (await counted.objectWrites.readings()).find((v) => v.labels.kind === kind)?.value ?? 0;
    // Partition 0 carries all 24 metrics, partition 1 a few: the write count must not follow them.
    await harness.processor.handleBatch(recordBatch(0, 0, batches.slice(0, 300)));
    await harness.processor.handleBatch(recordBatch(1, 0, batches.slice(300, 310)));
    const before = await target.list('_checkpoints/');
    const [segmentsBefore, manifestsBefore] = [await writes('segment'), await writes('manifest')];
    await harness.processor.checkpointAll();
    const after = await target.list('_checkpoints/');
    expect((await writes('segment')) - segmentsBefore).toBe(2);
    expect((await writes('manifest')) - manifestsBefore).toBe(2);
    // Two new segments (one per partition); the manifests were rewritten in place.
    expect(after.length - before.length).toBe(2);
    expect(harness.published).toEqual(
      expect.arrayContaining([
        { partition: 0, offset: 300 },
        { partition: 1, offset: 10 },
      ]),
    );
  });

  it('lets the event loop run between partitions while it checkpoints them all, and on stop', async () => {
    const { batches, directory } = scenario(5);
    const { processor } = createHarness(store(), directory);
    const partitions = [0, 1, 2];
    const fill = async (offset: number) => {
      for (const partition of partitions) {
        const first = partition * 100 + offset;
        await processor.handleBatch(recordBatch(partition, offset, batches.slice(first, first + 20)));
      }
    };
    // Partitions whose changes were already taken (taking is synchronous) when a timer got its turn.
    const takenWhenTimerRan = () =>
      new Promise<number>((resolve) =>
        setImmediate(() =>
          resolve(
            partitions.filter((partition) => processor.partition(partition)?.pendingOffsets === 0).length,
          ),
        ),
      );
    await processor.assign(partitions);
    await fill(0);
    const [duringCheckpoint] = await Promise.all([takenWhenTimerRan(), processor.checkpointAll()]);
    expect(duringCheckpoint).toBe(1);
    expect(partitions.map((partition) => processor.partition(partition)?.pendingOffsets)).toEqual([0, 0, 0]);

    await fill(20);
    const owned = partitions.map((partition) => processor.partition(partition));
    const stopping = processor.stop();
    const releasedWhenTimerRan = await new Promise<number>((resolve) =>
      setImmediate(() => resolve(owned.filter((partition) => partition?.pendingOffsets === 0).length)),
    );
    await stopping;
    expect(releasedWhenTimerRan).toBeLessThan(partitions.length);
    expect(owned.map((partition) => partition?.pendingOffsets)).toEqual([0, 0, 0]);
  });

  it('fences a processor whose partition was claimed by another: its manifest write fails and it drops the partition', async () => {
    const { batches, directory } = scenario(5);
    const target = store();
    const zombie = createHarness(target, directory);
    await zombie.processor.assign([0]);
    await zombie.processor.handleBatch(recordBatch(0, 0, batches.slice(0, 50)));

    const owner = createHarness(target, directory);
    await owner.processor.assign([0]);
    await owner.processor.handleBatch(recordBatch(0, 0, batches.slice(0, 20)));
    await owner.processor.checkpointAll();
    const ownerManifest = await readManifest(target, TOPIC, 0);

    await zombie.processor.checkpointAll();
    expect(zombie.processor.partitions).toEqual([]);
    expect(await zombie.instruments.fenced.readings()).toMatchObject([{ value: 1 }]);
    expect(zombie.published).toEqual([]);
    expect(await readManifest(target, TOPIC, 0)).toEqual(ownerManifest);
    expect(ownerManifest!.manifest.generation).toBe(2);
  });

  it('dead-letters measures of unknown metrics and malformed batches, counts those of deleted ones, and goes on', async () => {
    const { metricIds, batches } = generateStream({
      seed: 6,
      metrics: 3,
      batchesPerMetric: 2,
      measuresPerBatch: 5,
      stepUs: 1_000_000,
    });
    const [active, deleted, unknown] = metricIds as [string, string, string];
    const directory = directoryOf({ ...activeMetrics([active], MEDIUM), [deleted]: { status: 'delete' } });
    const target = store();
    const harness = createHarness(target, directory);
    await harness.processor.assign([0]);
    const malformed: StreamBatch = { metricId: active, timestamps: [1, 2], values: [1] };
    const all = [...batches, malformed];
    await harness.processor.handleBatch(recordBatch(0, 0, all));
    await harness.processor.checkpointAll();

    const letters = harness.deadLetters.map((letter) => ({
      key: String(letter.key),
      code: String(letter.headers?.['granary.error.code']),
      offset: String(letter.headers?.['granary.source.offset']),
    }));
    const unknownOffsets = all.flatMap((batch, offset) =>
      batch.metricId === unknown ? [String(offset)] : [],
    );
    expect(letters).toEqual([
      ...unknownOffsets.map((offset) => ({ key: unknown, code: 'PROCESSING_UNKNOWN_METRIC', offset })),
      { key: active, code: 'PROCESSING_INVALID_MEASURES', offset: String(all.length - 1) },
    ]);
    expect(await harness.instruments.measuresDropped.readings()).toMatchObject([
      { labels: { reason: 'metric_deleted' }, value: 10 },
    ]);
    expect((await readManifest(target, TOPIC, 0))!.manifest.offset).toBe(all.length);
    expect(harness.published).toEqual([{ partition: 0, offset: all.length }]);
  });

  it('dead-letters a record whose values make applying throw an uncoded error, and applies the next one', async () => {
    const metricId = '00000000-0000-4000-a000-000000000002';
    const harness = createHarness(store(), directoryOf(activeMetrics([metricId], MEDIUM)));
    await harness.processor.assign([0]);
    const hour = 3_600_000_000;
    // Columns that are not arrays: carbonara's apply fails on them with a TypeError, not a code.
    const crafted = { metricId, timestamps: null, values: null } as unknown as StreamBatch;
    await harness.processor.handleBatch(
      recordBatch(0, 0, [
        { metricId, timestamps: [10 * hour], values: [1] },
        crafted,
        { metricId, timestamps: [11 * hour], values: [2] },
      ]),
    );
    expect(
      harness.deadLetters.map((letter) => [
        String(letter.headers?.['granary.source.offset']),
        String(letter.headers?.['granary.error.code']),
      ]),
    ).toEqual([['1', 'PROCESSING_RECORD_FAILED']]);
    expect(String(harness.deadLetters[0]!.headers?.['granary.error.message'])).toMatch(/TypeError|null/);
    expect((await harness.instruments.measuresApplied.readings())[0]!.value).toBe(2);
    expect(harness.processor.partition(0)?.appliedOffset).toBe(3);
  });

  it('counts points dropped by the back window, without a per-metric label', async () => {
    const metricId = '00000000-0000-4000-a000-000000000001';
    const directory = directoryOf(activeMetrics([metricId], MEDIUM));
    const harness = createHarness(store(), directory);
    await harness.processor.assign([0]);
    const hour = 3_600_000_000;
    await harness.processor.handleBatch(
      recordBatch(0, 0, [
        { metricId, timestamps: [10 * hour, 12 * hour], values: [1, 2] },
        { metricId, timestamps: [1 * hour, 2 * hour, 12 * hour + 1], values: [3, 4, 5] },
      ]),
    );
    expect(await harness.instruments.pointsDroppedTooOld.readings()).toEqual([{ labels: {}, value: 2 }]);
  });

  it('checkpoints on the dirty-size bound and on refresh requests once the requested offset is applied', async () => {
    const { batches, directory } = scenario(7);
    const harness = createHarness(store(), directory, { settings: { maxPendingOffsets: 100 } });
    await harness.processor.assign([0]);
    await harness.processor.handleBatch(recordBatch(0, 0, batches.slice(0, 60)));
    expect(harness.published).toEqual([]);
    await harness.processor.handleBatch(recordBatch(0, 60, batches.slice(60, 120)));
    expect(harness.published).toEqual([{ partition: 0, offset: 120 }]);

    await harness.processor.refresh(0, 150);
    expect(harness.published).toHaveLength(1);
    await harness.processor.handleBatch(recordBatch(0, 120, batches.slice(120, 140)));
    expect(harness.published).toHaveLength(1);
    await harness.processor.handleBatch(recordBatch(0, 140, batches.slice(140, 160)));
    expect(harness.published).toEqual([
      { partition: 0, offset: 120 },
      { partition: 0, offset: 160 },
    ]);
    await harness.processor.handleBatch(recordBatch(0, 160, batches.slice(160, 170)));
    await harness.processor.refresh(0);
    expect(harness.published.at(-1)).toEqual({ partition: 0, offset: 170 });
    await harness.processor.refresh(1);
  });

  it('claims a partition again from its manifest when a checkpoint fails, losing nothing', async () => {
    const { batches, directory } = scenario(8);
    const target = store();
    let failPuts = false;
    const flaky: ObjectStore = {
      ...target,
      driver: target.driver,
      put: async (key, bytes) => {
        if (failPuts) throw new Error('disk full');
        await target.put(key, bytes);
      },
      get: (key) => target.get(key),
      getWithVersion: (key) => target.getWithVersion(key),
      putIfMatch: (key, bytes, version) => target.putIfMatch(key, bytes, version),
      list: (prefix) => target.list(prefix),
      delete: (keys) => target.delete(keys),
    };
    const harness = createHarness(flaky, directory);
    await harness.processor.assign([0]);
    await harness.processor.handleBatch(recordBatch(0, 0, batches.slice(0, 50)));
    await harness.processor.checkpointAll();
    await harness.processor.handleBatch(recordBatch(0, 50, batches.slice(50, 90)));
    failPuts = true;
    await harness.processor.checkpointAll();
    failPuts = false;
    expect(harness.processor.partitions).toEqual([0]);
    expect(harness.seeks.get(0)).toBe(50);
    expect((await readManifest(target, TOPIC, 0))!.manifest.generation).toBe(2);
  });

  it('refuses a policy the index holds that carbonara cannot use', () => {
    expect(() => compilePolicy({ ...MEDIUM, aggregationMethods: ['nope'] })).toThrow(
      expect.objectContaining({ code: 'PROCESSING_INVALID_POLICY' }),
    );
    expect(processingErrors.codes).toContain('PROCESSING_INVALID_POLICY');
    expect(compilePolicy(MEDIUM).policy.aggregations).toEqual(DEFAULT_ARCHIVE_POLICIES.medium!.aggregations);
  });
});

describe('Metric rebuild', () => {
  /** A clean run: every batch applied once, checkpointed, compacted. */
  async function referenceRun(batches: readonly StreamBatch[], directory: ReturnType<typeof directoryOf>) {
    const reference = store();
    const { processor } = createHarness(reference, directory);
    await processor.assign([0]);
    await feed(processor, batches, 0, batches.length, 3);
    await processor.stop();
    await compactEverything(reference, directory);
    return compactedObjects(reference);
  }

  /**
   * Damage a metric's compacted state: one split gets another metric's bytes, a stray split appears
   * a split span earlier (60 s × 3600 points), its raw tail goes.
   */
  async function damage(target: ObjectStore, metricId: string, donorId: string) {
    const keys = await target.list(`${metricId}/`);
    const split = keys.find((key) => key.includes('mean_60.0_'))!;
    const donor = await target.get(split.replace(metricId, donorId));
    expect(donor).toBeDefined();
    await target.put(split, donor!);
    const ref = parseSplitObjectKey(split)!;
    const earlier = splitObjectKey(metricId, { ...ref, splitKeyUs: ref.splitKeyUs - 216_000_000_000 });
    await target.put(earlier, donor!);
    await target.delete([rawTailKey(metricId)]);
  }

  async function expectSameObjects(target: ObjectStore, expected: Map<string, Buffer>) {
    const actual = await compactedObjects(target);
    expect([...actual.keys()]).toEqual([...expected.keys()]);
    for (const [key, bytes] of expected) expect(actual.get(key), key).toEqual(bytes);
  }

  it('replaces a damaged metric by what its records recompute to, while batches keep being applied', async () => {
    const { metricIds, batches, directory } = scenario(7);
    const expected = await referenceRun(batches, directory);
    const [damaged, donor] = [metricIds[0]!, metricIds[1]!];

    const target = store();
    let applyDuringRead = true;
    const harness = createHarness(target, directory, {
      topicLog: batches,
      // The first read of the rebuild sees the partition move on underneath it.
      beforeRead: async () => {
        if (!applyDuringRead) return;
        applyDuringRead = false;
        await feed(harness.processor, batches, 400, 440, 1);
      },
    });
    await harness.processor.assign([0]);
    await feed(harness.processor, batches, 0, 400, 3);
    await harness.processor.compactAll();
    await damage(target, damaged, donor);

    const result = await harness.processor.rebuild(0, damaged, 0);
    const ownRecords = batches.slice(0, 440).filter((batch) => batch.metricId === damaged).length;
    expect(result).toEqual({ records: ownRecords, offset: 440 });
    const { manifest } = (await readManifest(target, TOPIC, 0))!;
    expect(manifest.resets).toEqual([{ metricId: damaged, seq: manifest.segments.at(-1)!.seq }]);

    await feed(harness.processor, batches, 440, batches.length, 3);
    await harness.processor.checkpointAll();
    await harness.processor.compactAll();
    expect((await readManifest(target, TOPIC, 0))!.manifest.resets).toBeUndefined();
    await harness.processor.stop();
    await expectSameObjects(target, expected);
  });

  it('takes a changed archive policy: the rebuilt metric is as if it always had it', async () => {
    const { metricIds, batches } = scenario(8);
    const changed = metricIds[0]!;
    const half = metricIds.length / 2;
    const narrower = { ...MEDIUM, aggregationMethods: ['mean', 'max'] };
    const entries = {
      ...activeMetrics(metricIds.slice(0, half), MEDIUM),
      ...activeMetrics(metricIds.slice(half), SHORT_WITH_RATE),
    };
    const expected = await referenceRun(
      batches,
      directoryOf({ ...entries, ...activeMetrics([changed], narrower) }),
    );

    const target = store();
    const directory = directoryOf(entries);
    const harness = createHarness(target, directory, { topicLog: batches });
    await harness.processor.assign([0]);
    await feed(harness.processor, batches, 0, batches.length, 3);
    await harness.processor.checkpointAll();
    await harness.processor.compactAll();
    expect((await target.list(`${changed}/`)).some((key) => key.includes('/min_'))).toBe(true);

    Object.assign(entries, activeMetrics([changed], narrower));
    await harness.processor.rebuild(0, changed, 0);
    await harness.processor.compactAll();
    await harness.processor.stop();
    await expectSameObjects(target, expected);
  });

  it('survives a restart before compaction: the reset voids the old objects for the next owner', async () => {
    const { metricIds, batches, directory } = scenario(9);
    const expected = await referenceRun(batches, directory);
    const [damaged, donor] = [metricIds[2]!, metricIds[3]!];

    const target = store();
    const first = createHarness(target, directory, { topicLog: batches });
    await first.processor.assign([0]);
    await feed(first.processor, batches, 0, 300, 3);
    await first.processor.compactAll();
    await damage(target, damaged, donor);
    await first.processor.rebuild(0, damaged, 0);
    // Vanishes here (kill -9): the rebuilt state is only in a live segment, named by a reset.

    const second = createHarness(target, directory, { topicLog: batches });
    await second.processor.assign([0]);
    await feed(second.processor, batches, second.seeks.get(0)!, batches.length, 3);
    await second.processor.stop();
    await compactEverything(target, directory);
    await expectSameObjects(target, expected);
  });

  it('leaves partitions it does not own to their owner, and refuses metrics the index does not have', async () => {
    const { metricIds, batches, directory } = scenario(10);
    const harness = createHarness(store(), directory, { topicLog: batches });
    await harness.processor.assign([0]);
    await feed(harness.processor, batches, 0, 100, 1);
    expect(await harness.processor.rebuild(3, metricIds[0]!, 0)).toBeUndefined();
    await expect(
      harness.processor.rebuild(0, '00000000-0000-4000-8000-000000000000', 0),
    ).rejects.toMatchObject({ code: 'PROCESSING_UNKNOWN_METRIC' });
    await harness.processor.stop();
  });
});
