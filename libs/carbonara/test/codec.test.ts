import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Points,
  carbonaraErrors,
  decodeRawTail,
  decodeSplit,
  encodeRawTail,
  encodeSplit,
  nextSplitKey,
  splitKeyOf,
} from '../index.ts';
import { gaugeSeries } from './helpers.ts';

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/gnocchi-v3.json', import.meta.url), 'utf8'));
const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));
const MINUTE = 60_000_000;

function points(timestamps: number[], values: number[]): Points {
  return { timestamps: Float64Array.from(timestamps), values: Float64Array.from(values) };
}

function decoded(result: Points | Error): Points {
  if (result instanceof Error) throw result;
  return result;
}

/** Random split contents: a granularity, a key, and sorted distinct slots within the split. */
const splitArbitrary = fc
  .record({
    granularity: fc.constantFrom(1_000_000, 200_000, MINUTE, 300_000_000, 3_600_000_000),
    keyIndex: fc.nat(),
    slots: fc.uniqueArray(fc.integer({ min: 0, max: 3599 }), { maxLength: 400 }),
    values: fc.array(fc.double({ noNaN: true }), { minLength: 400, maxLength: 400 }),
  })
  .map(({ granularity, keyIndex, slots, values }) => {
    const key = (keyIndex % Math.floor(2 ** 52 / (granularity * 3600))) * granularity * 3600;
    const sorted = [...slots].sort((a, b) => a - b);
    return {
      key,
      granularity,
      points: points(
        sorted.map((slot) => key + slot * granularity),
        sorted.map((_, index) => values[index] as number),
      ),
    };
  });

describe('split codec (Gnocchi v3)', () => {
  it("decodes Gnocchi's serialization and encodes the same points to the same bytes", () => {
    const { keyMicros, granularityMicros, timestampsMicros, values, bytes } = fixtures.split;
    const expected = points(timestampsMicros, values);
    expect(decoded(decodeSplit(keyMicros, granularityMicros, fromBase64(bytes)))).toEqual(expected);
    expect(encodeSplit(keyMicros, granularityMicros, expected)).toEqual(fromBase64(bytes));
  });

  it('encodes a realistic gauge split to the very bytes Gnocchi writes', () => {
    const key = 1_425_600_000_000_000;
    const { slots, values } = gaugeSeries(3600);
    const inSplit = slots.filter((slot) => slot < 3600);
    const gauge = points(
      inSplit.map((slot) => key + slot * MINUTE),
      values.slice(0, inSplit.length),
    );
    const gnocchiBytes = new Uint8Array(
      readFileSync(new URL('./fixtures/gnocchi-gauge-split.v3', import.meta.url)),
    );
    expect(fixtures.gaugeSplit).toEqual({ points: inSplit.length, bytes: gnocchiBytes.length });
    expect(decoded(decodeSplit(key, MINUTE, gnocchiBytes))).toEqual(gauge);
    expect(encodeSplit(key, MINUTE, gauge)).toEqual(gnocchiBytes);
  });

  it('decodes the padded format (Ceph mutable splits)', () => {
    const padded = new Uint8Array(9 * 4);
    const view = new DataView(padded.buffer);
    for (const [slot, value] of [
      [1, 2.5],
      [3, -1],
    ] as const) {
      padded[slot * 9] = 1;
      view.setFloat64(slot * 9 + 1, value, true);
    }
    expect(decoded(decodeSplit(0, MINUTE, padded))).toEqual(points([MINUTE, 3 * MINUTE], [2.5, -1]));
  });

  it('reads empty data as an empty split', () => {
    expect(decoded(decodeSplit(0, MINUTE, new Uint8Array(0)))).toEqual(points([], []));
  });

  it('encode then decode is the identity', () => {
    fc.assert(
      fc.property(splitArbitrary, ({ key, granularity, points: original }) => {
        expect(decoded(decodeSplit(key, granularity, encodeSplit(key, granularity, original)))).toEqual(
          original,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('refuses to encode points that do not belong to the split', () => {
    const key = splitKeyOf(7 * MINUTE * 3600 + 5, MINUTE);
    for (const ts of [key - MINUTE, key + MINUTE + 1, nextSplitKey(key, MINUTE)]) {
      expect(() => encodeSplit(key, MINUTE, points([ts], [1]))).toThrow(
        expect.objectContaining({ code: 'CARBONARA_INVALID_ARGUMENT' }),
      );
    }
    expect(() => encodeSplit(key + MINUTE, MINUTE, points([], []))).toThrow(
      expect.objectContaining({ code: 'CARBONARA_INVALID_ARGUMENT' }),
    );
  });
});

describe('raw tail codec (Gnocchi none_v3)', () => {
  it("decodes Gnocchi's nanosecond buffer, flooring to microseconds, and re-encodes it readably", () => {
    const { timestampsNanos, values, bytes } = fixtures.rawTail;
    const expected = points(
      timestampsNanos.map((ns: string) => Number(BigInt(ns) / 1000n)),
      values,
    );
    expect(decoded(decodeRawTail(fromBase64(bytes)))).toEqual(expected);
    expect(decoded(decodeRawTail(encodeRawTail(expected)))).toEqual(expected);
  });

  it("encodes microsecond timestamps to Gnocchi's bytes", () => {
    const { timestampsMicros, values, bytes } = fixtures.rawTailMicros;
    expect(encodeRawTail(points(timestampsMicros, values))).toEqual(fromBase64(bytes));
  });

  it('encode then decode is the identity', () => {
    const series = fc
      .uniqueArray(fc.integer({ min: 0, max: 2 ** 52 }), { maxLength: 300 })
      .chain((timestamps) =>
        fc.array(fc.double(), { minLength: timestamps.length, maxLength: timestamps.length }).map((values) =>
          points(
            [...timestamps].sort((a, b) => a - b),
            values,
          ),
        ),
      );
    fc.assert(
      fc.property(series, (original) => {
        expect(decoded(decodeRawTail(encodeRawTail(original)))).toEqual(original);
      }),
      { numRuns: 200 },
    );
  });
});

describe('decoders on corrupt input', () => {
  it('return a CARBONARA_CORRUPT_DATA error value, never throw', () => {
    const validSplit = encodeSplit(0, MINUTE, points([0, MINUTE, 5 * MINUTE], [1, 2, 3]));
    const validRaw = encodeRawTail(points([1, 2, 30], [1, 2, 3]));
    const mutated = (valid: Uint8Array) =>
      fc
        .tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }))
        .map(([at, byte]) => valid.map((value, index) => (index === at ? byte : value)));
    const inputs = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => new Uint8Array([0x63, ...bytes])),
      mutated(validSplit),
      mutated(validRaw),
      fc.nat(validSplit.length - 1).map((length) => validSplit.slice(0, length)),
    );
    fc.assert(
      fc.property(inputs, (bytes) => {
        for (const result of [decodeSplit(0, MINUTE, bytes), decodeRawTail(bytes)]) {
          if (result instanceof Error)
            expect(carbonaraErrors.is(result, 'CARBONARA_CORRUPT_DATA')).toBe(true);
          else expect(result.timestamps.length).toBe(result.values.length);
        }
      }),
      { numRuns: 1000 },
    );
    expect(carbonaraErrors.is(decodeSplit(0, MINUTE, validSplit.slice(0, 7)), 'CARBONARA_CORRUPT_DATA')).toBe(
      true,
    );
    expect(carbonaraErrors.is(decodeRawTail(new Uint8Array([1, 2, 3])), 'CARBONARA_CORRUPT_DATA')).toBe(true);
  });
});
