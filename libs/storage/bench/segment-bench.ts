/**
 * Segment encode/decode throughput on a checkpoint shaped like a busy partition: many metrics, a
 * minute of 1-s raw points each and two recomputed buckets for each of the six default methods at
 * two granularities. Prints MB/s of segment bytes. Run: `npm run bench -w @granary/storage`.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type SegmentInput, decodeSegment, encodeSegment } from '../index.ts';

const METRICS = 5_000;
const RAW_POINTS = 60;
const METHODS = ['mean', 'min', 'max', 'sum', 'std', 'count'];
const GRANULARITIES_US = [60_000_000, 3_600_000_000];
const ROUNDS = 20;
const START_US = 1_763_700_000_000_000;

function column(length: number, at: (i: number) => number): Float64Array {
  return Float64Array.from({ length }, (_, i) => at(i));
}

const segment: SegmentInput = {
  topic: 'granary.measures',
  partition: 0,
  seq: 1,
  generation: 1,
  firstOffset: 0,
  lastOffset: METRICS - 1,
  createdAtUs: START_US,
  metrics: Array.from({ length: METRICS }, () => ({
    metricId: randomUUID(),
    raw: {
      timestamps: column(RAW_POINTS, (i) => START_US + i * 1e6),
      values: column(RAW_POINTS, Math.random),
    },
    aggregates: METHODS.flatMap((method) =>
      GRANULARITIES_US.map((granularityUs) => ({
        method,
        granularityUs,
        timestamps: column(2, (i) => START_US + i * granularityUs),
        values: column(2, Math.random),
      })),
    ),
  })),
};

function measure(label: string, bytes: number, run: () => void): void {
  run(); // warm-up
  const started = performance.now();
  for (let round = 0; round < ROUNDS; round++) run();
  const seconds = (performance.now() - started) / 1000;
  const megabytesPerSecond = (bytes * ROUNDS) / 1e6 / seconds;
  console.log(
    `${label.padEnd(7)} ${megabytesPerSecond.toFixed(0).padStart(6)} MB/s  (${((seconds / ROUNDS) * 1e3).toFixed(1)} ms per segment)`,
  );
}

const encoded = encodeSegment(segment);
console.log(
  `segment: ${METRICS} metrics, ${RAW_POINTS} raw points and ${METHODS.length * GRANULARITIES_US.length} series each, ${(encoded.length / 1e6).toFixed(2)} MB`,
);
measure('encode', encoded.length, () => encodeSegment(segment));
measure('decode', encoded.length, () => decodeSegment(encoded));
