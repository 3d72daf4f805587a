import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FileObjectStore,
  deleteMetric,
  listSplitKeys,
  parseSplitObjectKey,
  rawTailKey,
  splitObjectKey,
  storageErrors,
} from '../index.ts';

const METRIC = '5e3b6a1c-8f3e-4c1d-9a7b-2f0e4d6c8b1a';
const OTHER_METRIC = '00000000-0000-4000-8000-000000000000';
const MINUTE = 60_000_000;
const root = mkdtempSync(join(tmpdir(), 'granary-layout-'));
afterAll(() => rm(root, { recursive: true, force: true }));

describe('Gnocchi object keys', () => {
  it('names the raw tail and splits exactly as Gnocchi s3 does', () => {
    expect(rawTailKey(METRIC)).toBe(`${METRIC}/none_v3`);
    expect(
      splitObjectKey(METRIC, { method: 'mean', granularityUs: MINUTE, splitKeyUs: 1_425_600_000e6 }),
    ).toBe(`${METRIC}/mean_60.0_1425600000.0_v3`);
    expect(splitObjectKey(METRIC, { method: 'rate:mean', granularityUs: 300e6, splitKeyUs: 0 })).toBe(
      `${METRIC}/rate:mean_300.0_0.0_v3`,
    );
    expect(splitObjectKey(METRIC, { method: '95pct', granularityUs: 200_000, splitKeyUs: 720e6 })).toBe(
      `${METRIC}/95pct_0.2_720.0_v3`,
    );
  });

  it('parses what it builds and nothing else', () => {
    const split = { method: 'rate:max', granularityUs: 200_000, splitKeyUs: 1_425_599_280e6 };
    expect(parseSplitObjectKey(splitObjectKey(METRIC, split))).toEqual({ metricId: METRIC, ...split });
    for (const foreign of [
      rawTailKey(METRIC),
      `${METRIC}/mean_60.0_v3`,
      `${METRIC}/mean_60.0_1.0_v2`,
      `${METRIC}/mean_x_1.0_v3`,
      'not-a-uuid/mean_60.0_1.0_v3',
      '_checkpoints/t/0/MANIFEST',
    ]) {
      expect(parseSplitObjectKey(foreign), foreign).toBeUndefined();
    }
  });

  it('rejects ids and methods that would make foreign keys', () => {
    expect(() => rawTailKey('../etc')).toThrow(
      expect.objectContaining({ code: 'STORAGE_INVALID_LAYOUT_KEY' }),
    );
    expect(() => splitObjectKey(METRIC, { method: 'me_an', granularityUs: 1, splitKeyUs: 0 })).toThrow(
      expect.objectContaining({ code: 'STORAGE_INVALID_LAYOUT_KEY' }),
    );
  });
});

describe('listing and deleting a metric', () => {
  async function seededStore(): Promise<FileObjectStore> {
    const store = new FileObjectStore({ basePath: join(root, String(Math.random()).slice(2)) });
    const splits = [
      { method: 'mean', granularityUs: MINUTE, splitKeyUs: 216_000e6 },
      { method: 'mean', granularityUs: MINUTE, splitKeyUs: 0 },
      { method: 'mean', granularityUs: 3_600e6, splitKeyUs: 0 },
      { method: 'mean', granularityUs: 6e6, splitKeyUs: 0 }, // listing "mean_6.0_" must not pick up "mean_60.0_…"
      { method: 'rate:mean', granularityUs: MINUTE, splitKeyUs: 0 },
      { method: 'max', granularityUs: MINUTE, splitKeyUs: 0 },
    ];
    for (const split of splits) await store.put(splitObjectKey(METRIC, split), new Uint8Array([1]));
    await store.put(rawTailKey(METRIC), new Uint8Array([2]));
    await store.put(rawTailKey(OTHER_METRIC), new Uint8Array([3]));
    return store;
  }

  it('lists split keys by metric, method and granularity, in time order', async () => {
    const store = await seededStore();
    expect(await listSplitKeys(store, METRIC, 'mean', MINUTE)).toEqual([
      { method: 'mean', granularityUs: MINUTE, splitKeyUs: 0 },
      { method: 'mean', granularityUs: MINUTE, splitKeyUs: 216_000e6 },
    ]);
    expect((await listSplitKeys(store, METRIC, 'mean')).map((s) => s.granularityUs)).toEqual([
      6e6,
      MINUTE,
      MINUTE,
      3_600e6,
    ]);
    expect(await listSplitKeys(store, METRIC)).toHaveLength(6);
    expect(await listSplitKeys(store, METRIC, undefined, MINUTE)).toHaveLength(4);
    expect(await listSplitKeys(store, OTHER_METRIC)).toEqual([]);
  });

  it('deletes every object of one metric and nothing else', async () => {
    const store = await seededStore();
    await deleteMetric(store, METRIC);
    expect(await store.list('')).toEqual([rawTailKey(OTHER_METRIC)]);
    await expect(deleteMetric(store, 'bad')).rejects.toSatisfy((err) =>
      storageErrors.is(err, 'STORAGE_INVALID_LAYOUT_KEY'),
    );
  });
});
