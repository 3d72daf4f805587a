import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FileObjectStore,
  type PartitionManifest,
  decodeManifest,
  encodeManifest,
  listSegments,
  liveSegmentKeys,
  manifestKey,
  parseSegmentKey,
  segmentKey,
} from '../index.ts';

const manifest: PartitionManifest = {
  topic: 'granary.measures',
  partition: 3,
  generation: 12,
  offset: 5_000,
  segments: [
    { seq: 41, generation: 11, firstOffset: 4_000, lastOffset: 4_499 },
    { seq: 42, generation: 12, firstOffset: 4_500, lastOffset: 4_999 },
  ],
  updatedAtUs: 1_763_700_000_000_000,
};

const basePath = mkdtempSync(join(tmpdir(), 'granary-segments-'));
afterAll(() => rm(basePath, { recursive: true, force: true }));

const corruptCode = expect.objectContaining({ code: 'STORAGE_CORRUPT_MANIFEST' });

describe('manifest codec', () => {
  it('round-trips', () => {
    expect(decodeManifest(encodeManifest(manifest))).toEqual(manifest);
  });

  it('is readable JSON with format, version and checksum', () => {
    const document = JSON.parse(new TextDecoder().decode(encodeManifest(manifest)));
    expect(document).toMatchObject({ format: 'granary-manifest', version: 1, manifest: { offset: 5_000 } });
    expect(document.checksum).toMatch(/^[0-9a-f]{8}$/);
  });

  it('refuses edited, truncated, foreign or newer manifests', () => {
    const text = new TextDecoder().decode(encodeManifest(manifest));
    const bytesOf = (value: string) => new TextEncoder().encode(value);
    const cases = [
      text.replace('"offset": 5000', '"offset": 6000'),
      text.slice(0, text.length / 2),
      '{"hello": "world"}',
      text.replace('"version": 1', '"version": 2'),
      text.replace('"partition": 3', '"partition": "3"'),
      'null',
    ];
    for (const damaged of cases) expect(() => decodeManifest(bytesOf(damaged)), damaged).toThrow(corruptCode);
    expect(() => decodeManifest(new Uint8Array([0xff, 0xfe]))).toThrow(corruptCode);
  });

  it('carries the resets of rebuilt metrics, and only when there are some', () => {
    const withResets = {
      ...manifest,
      resets: [{ metricId: '5a4b3c2d-0000-4000-8000-000000000001', seq: 42 }],
    };
    expect(decodeManifest(encodeManifest(withResets))).toEqual(withResets);
    expect(new TextDecoder().decode(encodeManifest({ ...manifest, resets: [] }))).toBe(
      new TextDecoder().decode(encodeManifest(manifest)),
    );
    const text = new TextDecoder().decode(encodeManifest(withResets));
    const bytesOf = (value: string) => new TextEncoder().encode(value);
    expect(() => decodeManifest(bytesOf(text.replace('"seq": 42\n', '"seq": 43\n')))).toThrow(corruptCode);
    expect(() => decodeManifest(bytesOf(text.replace('"seq": 42\n', '"seq": "42"\n')))).toThrow(corruptCode);
  });

  it('names live segments by sequence and writer generation', () => {
    expect(liveSegmentKeys(manifest)).toEqual([
      '_checkpoints/granary.measures/3/0000000000000041-0000000011',
      '_checkpoints/granary.measures/3/0000000000000042-0000000012',
    ]);
    expect(manifestKey('granary.measures', 3)).toBe('_checkpoints/granary.measures/3/MANIFEST');
  });
});

describe('checkpoint keys', () => {
  it('parse back and sort in sequence order, the manifest last', () => {
    const keys = [
      segmentKey('t', 0, { seq: 10, generation: 1 }),
      segmentKey('t', 0, { seq: 9, generation: 2 }),
      manifestKey('t', 0),
      segmentKey('t', 0, { seq: 10, generation: 2 }),
    ];
    expect([...keys].sort().map((key) => parseSegmentKey('t', 0, key))).toEqual([
      { seq: 9, generation: 2 },
      { seq: 10, generation: 1 },
      { seq: 10, generation: 2 },
      undefined,
    ]);
    expect(parseSegmentKey('t', 1, keys[0]!)).toBeUndefined();
  });

  it('list the stored segments of one partition in sequence order', async () => {
    const store = new FileObjectStore({ basePath });
    for (const segment of [
      { seq: 2, generation: 5 },
      { seq: 1, generation: 5 },
      { seq: 2, generation: 4 },
    ]) {
      await store.put(segmentKey('t', 0, segment), new Uint8Array());
    }
    await store.put(segmentKey('t', 10, { seq: 0, generation: 0 }), new Uint8Array());
    await store.put(manifestKey('t', 0), new Uint8Array());
    expect(await listSegments(store, 't', 0)).toEqual([
      { seq: 1, generation: 5 },
      { seq: 2, generation: 4 },
      { seq: 2, generation: 5 },
    ]);
  });

  it('refuses what cannot be a key', () => {
    const invalidKey = expect.objectContaining({ code: 'STORAGE_INVALID_KEY' });
    expect(() => segmentKey('t', 0, { seq: -1, generation: 0 })).toThrow(invalidKey);
    expect(() => segmentKey('t', 0, { seq: 0, generation: 2 ** 40 })).toThrow(invalidKey);
    expect(() => manifestKey('../t', 0)).toThrow(invalidKey);
    expect(() => manifestKey('t', 0.5)).toThrow(invalidKey);
  });
});
