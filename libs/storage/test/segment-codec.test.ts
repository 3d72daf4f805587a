import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SEGMENT_FORMAT_VERSION,
  type SegmentInput,
  decodeSegment,
  encodeSegment,
  storageErrors,
} from '../index.ts';

const METRIC_A = '5e3b6a1c-8f3e-4c1d-9a7b-2f0e4d6c8b1a';
const METRIC_B = 'a0000000-0000-4000-8000-00000000000b';

const sample: SegmentInput = {
  topic: 'granary.measures',
  partition: 12,
  seq: 4711,
  generation: 9,
  firstOffset: 1_000,
  lastOffset: 1_499,
  createdAtUs: 1_763_700_000_123_456,
  metrics: [
    {
      metricId: METRIC_A,
      raw: { timestamps: [1_425_600_000_000_000, 1_425_600_001_000_000], values: [1.5, Number.NaN] },
      aggregates: [
        { method: 'mean', granularityUs: 60_000_000, timestamps: [1_425_600_000_000_000], values: [1.5] },
        { method: 'rate:mean', granularityUs: 300_000_000, timestamps: [], values: [] },
        { method: '95pct', granularityUs: 200_000, timestamps: [1_425_600_000_000_000], values: [-0] },
      ],
    },
    {
      metricId: METRIC_B.toUpperCase(),
      raw: { timestamps: new Float64Array([1]), values: new Float64Array([Number.POSITIVE_INFINITY]) },
      aggregates: [{ method: 'mean', granularityUs: 60_000_000, timestamps: [0, 60e6], values: [2, 3] }],
    },
  ],
};

/** The decoded form of an input: typed columns, canonical lowercase ids. */
function normalized(segment: SegmentInput) {
  return {
    ...segment,
    metrics: segment.metrics.map((metric) => ({
      metricId: metric.metricId.toLowerCase(),
      raw: {
        timestamps: Float64Array.from(metric.raw.timestamps),
        values: Float64Array.from(metric.raw.values),
      },
      aggregates: metric.aggregates.map((aggregate) => ({
        method: aggregate.method,
        granularityUs: aggregate.granularityUs,
        timestamps: Float64Array.from(aggregate.timestamps),
        values: Float64Array.from(aggregate.values),
      })),
    })),
  };
}

const isCorrupt = (err: unknown) => storageErrors.is(err, 'STORAGE_CORRUPT_SEGMENT');

/** Decoding damaged bytes may succeed (the damage hit nothing checkable) or fail with the code. */
function decodesOrFailsCleanly(bytes: Uint8Array): void {
  try {
    decodeSegment(bytes);
  } catch (err) {
    if (!isCorrupt(err)) throw err;
  }
}

describe('segment codec', () => {
  it('round-trips header, metrics, raw deltas and aggregate buckets (NaN, ±0, ∞ included)', () => {
    const decoded = decodeSegment(encodeSegment(sample));
    expect(decoded).toEqual(normalized(sample));
    expect(Object.is(decoded.metrics[0]?.aggregates[2]?.values[0], -0)).toBe(true);
  });

  it('starts with the magic and version and ends the header on an 8-byte boundary', () => {
    const bytes = encodeSegment(sample);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('GRSG');
    expect(bytes[4]).toBe(SEGMENT_FORMAT_VERSION);
    // Columns: 2 × 3 raw points + 2 × 5 bucket points, f64 each, at the end.
    expect((bytes.length - 16 * 8) % 8).toBe(0);
  });

  it('round-trips an empty checkpoint', () => {
    const empty = { ...sample, metrics: [] };
    expect(decodeSegment(encodeSegment(empty))).toEqual(normalized(empty));
  });

  it('decodes from an unaligned view of a larger buffer without aliasing it', () => {
    const encoded = encodeSegment(sample);
    const shifted = new Uint8Array(encoded.length + 3);
    shifted.set(encoded, 3);
    const decoded = decodeSegment(shifted.subarray(3));
    shifted.fill(0);
    expect(decoded).toEqual(normalized(sample));
  });

  it('round-trips arbitrary segments', () => {
    const column = (length: number) => fc.array(fc.double(), { minLength: length, maxLength: length });
    const series = fc.nat(20).chain((length) => fc.tuple(column(length), column(length)));
    const metric = fc.record({
      metricId: fc.uuid(),
      raw: series.map(([timestamps, values]) => ({ timestamps, values })),
      aggregates: fc.uniqueArray(
        fc
          .record({
            method: fc.constantFrom('mean', 'max', 'rate:last', '99pct'),
            granularityUs: fc.constantFrom(1_000_000, 60_000_000, 200_000),
          })
          .chain((aggregation) =>
            series.map(([timestamps, values]) => ({ ...aggregation, timestamps, values })),
          ),
        { selector: (a) => `${a.method}/${a.granularityUs}`, maxLength: 4 },
      ),
    });
    const segment = fc.record({
      topic: fc.string({ maxLength: 40 }),
      partition: fc.nat(1023),
      seq: fc.nat(),
      generation: fc.nat(),
      firstOffset: fc.nat(1_000_000),
      lastOffset: fc.integer({ min: 1_000_000, max: Number.MAX_SAFE_INTEGER }),
      createdAtUs: fc.double(),
      metrics: fc.uniqueArray(metric, { selector: (m) => m.metricId, maxLength: 6 }),
    });
    fc.assert(
      fc.property(segment, (input) => {
        expect(decodeSegment(encodeSegment(input))).toEqual(normalized(input));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses content the format cannot carry', () => {
    const invalid = (change: Partial<SegmentInput>) => () => encodeSegment({ ...sample, ...change });
    const withMetric = (metric: SegmentInput['metrics'][number]) => invalid({ metrics: [metric] });
    const metric = sample.metrics[0]!;
    const cases = [
      invalid({ partition: -1 }),
      invalid({ seq: 1.5 }),
      invalid({ firstOffset: 10, lastOffset: 9 }),
      withMetric({ ...metric, metricId: 'not-a-uuid' }),
      withMetric({ ...metric, raw: { timestamps: [1, 2], values: [1] } }),
      withMetric({
        ...metric,
        aggregates: [{ method: 'mean', granularityUs: 0, timestamps: [], values: [] }],
      }),
      invalid({ metrics: [metric, { ...metric, metricId: metric.metricId.toUpperCase() }] }),
    ];
    for (const encode of cases) {
      expect(encode).toThrow(expect.objectContaining({ code: 'STORAGE_INVALID_SEGMENT' }));
    }
  });

  it('detects truncation at every length', () => {
    const bytes = encodeSegment(sample);
    for (let length = 0; length < bytes.length; length++) {
      expect(() => decodeSegment(bytes.subarray(0, length)), `length ${length}`).toThrow(
        expect.objectContaining({ code: 'STORAGE_CORRUPT_SEGMENT' }),
      );
    }
  });

  it('detects every single flipped byte', () => {
    const bytes = encodeSegment(sample);
    for (let at = 0; at < bytes.length; at++) {
      const damaged = bytes.slice();
      damaged[at] = (damaged[at] ?? 0) ^ 0x5a;
      expect(() => decodeSegment(damaged), `byte ${at}`).toThrow(
        expect.objectContaining({ code: 'STORAGE_CORRUPT_SEGMENT' }),
      );
    }
  });

  it('never crashes on random mutations, even when the checksum is made to match', () => {
    const original = encodeSegment(sample);
    const mutation = fc.record({
      edits: fc.array(fc.tuple(fc.nat(original.length - 1), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      }),
      cut: fc.nat(original.length),
      fixChecksum: fc.boolean(),
    });
    fc.assert(
      fc.property(mutation, ({ edits, cut, fixChecksum }) => {
        const damaged = original.slice(0, Math.max(cut, 16));
        for (const [at, byte] of edits) if (at < damaged.length) damaged[at] = byte;
        if (fixChecksum) forgeChecksum(damaged);
        decodesOrFailsCleanly(damaged);
      }),
      { numRuns: 2_000 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (noise) => decodesOrFailsCleanly(noise)));
  });
});

/** Make length and CRC agree with damaged content, to reach the structural checks behind them. */
function forgeChecksum(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  view.setUint32(8, bytes.length - 16, true);
  view.setUint32(12, crc32(bytes.subarray(16)), true);
}
