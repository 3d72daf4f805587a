import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessorConfigSchema, type RunningProcessor, startProcessor } from '@granary/app-processor';
import { loadConfig } from '@granary/config';
import type { Index } from '@granary/index';
import { partitionFor } from '@granary/kafka';
import { createLogger } from '@granary/observability';
import { FileObjectStore, type ObjectStore, readManifest } from '@granary/storage';
import { createTestIndex, registerMetrics } from '@granary/testing/database';
import {
  createTopics,
  dropBucket,
  endOffsets,
  eventually,
  processorConfig,
  produce,
  s3Store,
  uniqueSuffix,
} from '@granary/testing/processor-environment';
import type { StreamBatch } from '@granary/testing/stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cliEnv, compactedObjects, granary, uniqueName } from './integration.ts';

const PARTITIONS = 4;
const topic = uniqueName('rebuild');
const bucket = `granary-cli-rebuild-${uniqueSuffix()}`;
const directory = mkdtempSync(join(tmpdir(), 'granary-cli-rebuild-'));
const START_US = 1_767_268_800_000_000;
const BATCHES_PER_METRIC = 12;

/** The metric whose storage gets damaged, and one on the same partition that keeps receiving measures. */
const damaged = randomUUID();
const neighbour = (() => {
  for (;;) {
    const id = randomUUID();
    if (partitionFor(id, PARTITIONS) === partitionFor(damaged, PARTITIONS)) return id;
  }
})();
const metricIds = [damaged, neighbour, randomUUID(), randomUUID()];

let testIndex: { index: Index; databaseUrl: string; drop(): Promise<void> };
let processor: RunningProcessor | undefined;
let env: Record<string, string>;

/** `count` batches of 30 ten-second points for `metricId`, from batch `first` on. */
function batches(metricId: string, first: number, count: number, seed: number): StreamBatch[] {
  return Array.from({ length: count }, (_, b) => {
    const timestamps = Array.from({ length: 30 }, (_, i) => START_US + ((first + b) * 30 + i) * 10_000_000);
    return {
      metricId,
      timestamps,
      values: timestamps.map((_, i) => Math.sin(b * 30 + i + seed) * 100 + seed),
    };
  });
}

/** Every partition checkpointed up to its end and compacted: nothing left but Gnocchi objects. */
async function settled(store: ObjectStore): Promise<void> {
  const ends = await endOffsets(topic);
  await eventually(async () => {
    for (const [partition, end] of ends) {
      const manifest = (await readManifest(store, topic, partition))?.manifest;
      if ((manifest?.offset ?? 0) < end || (manifest?.segments.length ?? 0) > 0) return false;
    }
    return true;
  });
}

const objectsOf = (objects: Map<string, Buffer>, metricId: string) =>
  new Map([...objects].filter(([key]) => key.startsWith(`${metricId}/`)));

beforeAll(async () => {
  testIndex = await createTestIndex({ seed: true });
  await registerMetrics(testIndex.index, metricIds, 'medium');
  await createTopics(topic, PARTITIONS);
  await produce(
    topic,
    metricIds.flatMap((id, m) => batches(id, 0, BATCHES_PER_METRIC, m)),
  );
  env = cliEnv({
    DATABASE_URL: testIndex.databaseUrl,
    GRANARY_TOPICS__MEASURES: JSON.stringify({ name: topic, partitions: PARTITIONS }),
  });

  const configFile = join(directory, 'processor.yaml');
  const config = processorConfig({
    topic,
    bucket,
    databaseUrl: testIndex.databaseUrl,
    groupId: `granary-cli-rebuild-${uniqueSuffix()}`,
    processor: {
      compaction: { intervalMs: 200, minSegments: 1, maxSegments: 8, graceMs: 0, concurrency: 8 },
    },
  });
  writeFileSync(configFile, stringify(config));
  processor = await startProcessor(
    loadConfig(ProcessorConfigSchema, { file: configFile, env: {} }),
    createLogger('processor', 'warn'),
  );
  const store = s3Store(bucket);
  await settled(store);
  await store.close();
});

afterAll(async () => {
  await processor?.stop();
  await dropBucket(bucket);
  await testIndex.drop();
  rmSync(directory, { recursive: true, force: true });
});

describe('granary rebuild', () => {
  it("recomputes a damaged metric in the live storage from earliest, as a replay of its range would, while its partition's other metrics keep being processed", async () => {
    const before = await compactedObjects(s3Store(bucket));
    const damagedBefore = objectsOf(before, damaged);
    const splits = [...damagedBefore.keys()].filter((key) => key.includes('/mean_'));
    expect(splits.length).toBeGreaterThan(1);
    const store = s3Store(bucket);
    await store.put(splits[0]!, Buffer.from('not a split'));
    await store.delete([splits[1]!]);
    expect(objectsOf(await compactedObjects(s3Store(bucket)), damaged)).not.toEqual(damagedBefore);

    const partition = partitionFor(damaged, PARTITIONS);
    const [rebuilt] = await Promise.all([
      granary(['rebuild', '--metric', damaged, '--from', 'earliest', '--json'], env),
      // Measures of another metric of the same partition, arriving while the owner rebuilds.
      produce(topic, batches(neighbour, BATCHES_PER_METRIC, 4, 1)),
    ]);

    expect(rebuilt.err).toBe('');
    expect(rebuilt.code).toBe(0);
    const lines = rebuilt.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]!);
    expect(result).toMatchObject({
      metricId: damaged,
      partition,
      fromOffset: 0,
      records: BATCHES_PER_METRIC,
      state: 'done',
    });
    expect(result.offset).toBeGreaterThan(0);

    await settled(store);
    await store.close();
    const live = await compactedObjects(s3Store(bucket));
    const replayed = join(directory, 'replayed');
    const replay = await granary(['replay', '--topic', topic, '--into-path', replayed], env);
    expect(replay.code).toBe(0);
    const reference = await compactedObjects(new FileObjectStore({ basePath: replayed }));

    expect(objectsOf(live, damaged)).toEqual(objectsOf(reference, damaged));
    expect(objectsOf(live, damaged)).toEqual(damagedBefore);
    // The neighbour's new measures arrived, and every other metric is what a replay gives.
    expect(objectsOf(live, neighbour)).not.toEqual(objectsOf(before, neighbour));
    expect(live).toEqual(reference);
  });

  it('drops what came before a later start: the metric is what a replay from that offset gives', async () => {
    const metricId = metricIds[2]!;
    const partition = partitionFor(metricId, PARTITIONS);
    const dumped = await granary(['dump', topic, '--partition', String(partition), '--key', metricId], env);
    const offsets = dumped.out
      .trim()
      .split('\n')
      .map((line) => Number(JSON.parse(line).offset));
    expect(offsets).toHaveLength(BATCHES_PER_METRIC);
    const fromOffset = offsets[BATCHES_PER_METRIC / 2]!;

    const rebuilt = await granary(
      ['rebuild', '--metric', metricId, '--from-offset', String(fromOffset), '--json'],
      env,
    );

    expect(rebuilt.code).toBe(0);
    expect(JSON.parse(rebuilt.out)).toMatchObject({
      metricId,
      partition,
      fromOffset,
      records: BATCHES_PER_METRIC / 2,
      state: 'done',
    });
    const store = s3Store(bucket);
    await settled(store);
    await store.close();
    const replayed = join(directory, 'replayed-from-offset');
    const replay = await granary(
      [
        'replay',
        '--topic',
        topic,
        '--partition',
        String(partition),
        '--start-offset',
        String(fromOffset),
        '--into-path',
        replayed,
      ],
      env,
    );
    expect(replay.code).toBe(0);
    const reference = objectsOf(
      await compactedObjects(new FileObjectStore({ basePath: replayed })),
      metricId,
    );
    expect(reference.size).toBeGreaterThan(0);
    expect(objectsOf(await compactedObjects(s3Store(bucket)), metricId)).toEqual(reference);
  });

  it('rebuilds every metric of --metrics-file in turn, with a line for each', async () => {
    const file = join(directory, 'metrics.txt');
    writeFileSync(file, `${metricIds[3]}\n\n${neighbour}\n`);

    const { code, out } = await granary(['rebuild', '--metrics-file', file, '--from', 'earliest'], env);

    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(3);
    const source = (id: string) => `${id} from ${topic}[${partitionFor(id, PARTITIONS)}]@0`;
    expect(lines[0]).toMatch(`rebuilt ${source(metricIds[3]!)}: 12 records, checkpointed at offset `);
    expect(lines[1]).toMatch(`rebuilt ${source(neighbour)}: 16 records, checkpointed at offset `);
    expect(lines[2]).toBe('2 of 2 metrics rebuilt');
  });

  it('refuses an unknown metric (exit 1) and a deleted one (exit 3) before rebuilding anything', async () => {
    const unknown = randomUUID();
    const notFound = await granary(
      ['rebuild', '--metric', damaged, '--metric', unknown, '--from', 'earliest'],
      env,
    );
    expect(notFound.code).toBe(1);
    expect(notFound.out).toBe('');
    expect(notFound.err).toBe(`granary: No such metric in the index: ${unknown} [CLI_METRIC_NOT_FOUND]\n`);

    const deletedId = randomUUID();
    await testIndex.index.metrics.create({ id: deletedId, creator: null, archivePolicyName: 'medium' });
    await testIndex.index.metrics.delete(deletedId);
    const deleted = await granary(['rebuild', '--metric', deletedId, '--from-offset', '0', '--json'], env);
    expect(deleted.code).toBe(3);
    expect(JSON.parse(deleted.err)).toMatchObject({ code: 'CLI_METRIC_DELETED' });
  });

  it('reports that no processor owns the partition when none answers within --accept-timeout', async () => {
    await processor?.stop();
    processor = undefined;
    const partition = partitionFor(damaged, PARTITIONS);
    const startedAt = Date.now();

    const { code, out } = await granary(
      ['rebuild', '--metric', damaged, '--from', 'earliest', '--accept-timeout', '2', '--json'],
      env,
    );

    expect(code).toBe(1);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2000);
    expect(JSON.parse(out)).toMatchObject({
      metricId: damaged,
      partition,
      state: 'failed',
      records: null,
      offset: null,
      error: {
        code: 'COORDINATION_REBUILD_NOT_ACCEPTED',
        message: `No processor answered the rebuild request: no processor owns partition ${partition} of ${topic} (are processors running?)`,
      },
    });
  });
});
