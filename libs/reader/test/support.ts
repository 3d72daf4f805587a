import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Points, encodeSplit, splitKeyOf } from '@granary/carbonara';
import { partitionFor } from '@granary/kafka';
import {
  FileObjectStore,
  type LiveSegment,
  type MetricReset,
  type ObjectStore,
  encodeSegment,
  manifestKey,
  segmentKey,
  splitObjectKey,
  writeManifest,
} from '@granary/storage';

export const TOPIC = 'granary.measures';
export const PARTITIONS = 4;
export const METRIC = '5b7ebe90-4ad2-4c83-ad2c-f6a8c4e4e2a1';
export const OTHER_METRIC = '0f9b8d71-3a55-4d8e-9b39-8a2e1e3c6f10';
export const PARTITION = partitionFor(METRIC, PARTITIONS);
export const S = 1_000_000;

/** Epoch µs of 2024-01-01T00:00:00Z plus `seconds`. */
export const at = (seconds: number) => (1_704_067_200 + seconds) * S;

export const points = (pairs: readonly (readonly [number, number])[]): Points => ({
  timestamps: Float64Array.from(pairs.map(([t]) => t)),
  values: Float64Array.from(pairs.map(([, v]) => v)),
});

/** A store in a fresh temporary directory, removed by `cleanup`. */
export function temporaryStore(): { store: FileObjectStore; cleanup(): void } {
  const basePath = mkdtempSync(join(tmpdir(), 'granary-reader-'));
  return {
    store: new FileObjectStore({ basePath }),
    cleanup: () => rmSync(basePath, { recursive: true, force: true }),
  };
}

/** A compacted split holding `series` (all of it must fall in one split). */
export async function putSplit(
  store: ObjectStore,
  metricId: string,
  method: string,
  granularitySeconds: number,
  series: Points,
): Promise<string> {
  const granularityUs = granularitySeconds * S;
  const splitKeyUs = splitKeyOf(series.timestamps[0] as number, granularityUs);
  const key = splitObjectKey(metricId, { method, granularityUs, splitKeyUs });
  await store.put(key, encodeSplit(splitKeyUs, granularityUs, series));
  return key;
}

export interface DeltaSpec {
  metricId: string;
  method: string;
  granularitySeconds: number;
  series: Points;
}

/** Writes one segment per entry (oldest first) and a manifest naming them; returns their keys. */
export async function putCheckpoint(
  store: ObjectStore,
  segments: readonly DeltaSpec[][],
  resets: readonly MetricReset[] = [],
): Promise<string[]> {
  const live: LiveSegment[] = [];
  for (const [seq, deltas] of segments.entries()) {
    const segment = { seq, generation: 1, firstOffset: seq, lastOffset: seq };
    live.push(segment);
    await store.put(
      segmentKey(TOPIC, PARTITION, segment),
      encodeSegment({
        topic: TOPIC,
        partition: PARTITION,
        ...segment,
        createdAtUs: 0,
        metrics: [...new Set(deltas.map((delta) => delta.metricId))].map((metricId) => ({
          metricId,
          raw: { timestamps: [], values: [] },
          aggregates: deltas
            .filter((delta) => delta.metricId === metricId)
            .map((delta) => ({
              method: delta.method,
              granularityUs: delta.granularitySeconds * S,
              timestamps: delta.series.timestamps,
              values: delta.series.values,
            })),
        })),
      }),
    );
  }
  const manifest = {
    topic: TOPIC,
    partition: PARTITION,
    generation: 1,
    offset: segments.length,
    segments: live,
    resets,
    updatedAtUs: 0,
  };
  const current = await store.getWithVersion(manifestKey(TOPIC, PARTITION));
  await writeManifest(store, manifest, current?.version ?? null);
  return live.map((segment) => segmentKey(TOPIC, PARTITION, segment));
}
