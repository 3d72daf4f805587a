/**
 * Carbonara throughput on one core: `npm run bench -w @granary/carbonara` (or `npm run bench` here).
 * Prints measures/s for the processor's hot loop (apply a 60-point batch per metric, then encode
 * every dirty split's changed buckets), split codec MB/s and bytes per point on a gauge series.
 */
import { readFileSync } from 'node:fs';
import {
  DEFAULT_ARCHIVE_POLICIES,
  type DefaultArchivePolicyName,
  MetricSeries,
  type Points,
  decodeSplit,
  encodeSplit,
  nextSplitKey,
} from '../index.ts';
import { gaugeSeries } from '../test/helpers.ts';

const SECOND = 1_000_000;
const MINUTE = 60 * SECOND;
const METRICS = 10_000;
const BATCH = 60;
const INTERVAL = 10 * SECOND;
const TIMED_ROUNDS = 5;
const START = 1_763_700_000 * SECOND - ((1_763_700_000 * SECOND) % (3600 * SECOND));

/**
 * CPU seconds this process has used: the machine is shared, so wall time would charge us for
 * other processes' work. (It includes V8's helper threads, e.g. parallel GC, so it errs low.)
 */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function batchFor(round: number, metric: number): { timestamps: Float64Array; values: Float64Array } {
  const timestamps = new Float64Array(BATCH);
  const values = new Float64Array(BATCH);
  for (let index = 0; index < BATCH; index++) {
    const slot = round * BATCH + index;
    timestamps[index] = START + slot * INTERVAL;
    values[index] = 40 + ((metric * 7919 + slot * 104_729) % 6000) / 100;
  }
  return { timestamps, values };
}

/** Encodes the changed buckets of every dirty split, as a checkpoint would; returns bytes written. */
function encodeDirtySplits(series: MetricSeries, result: ReturnType<MetricSeries['apply']>): number {
  let bytes = 0;
  for (const { aggregation, from, to, splitKeys } of result.changes) {
    const { method, granularity } = aggregation;
    for (const key of splitKeys) {
      const dirty = series.points(
        method,
        granularity,
        Math.max(from, key),
        Math.min(to, nextSplitKey(key, granularity)),
      );
      bytes += encodeSplit(key, granularity, dirty).length;
    }
  }
  return bytes;
}

function processorLoop(policyName: DefaultArchivePolicyName): void {
  const policy = DEFAULT_ARCHIVE_POLICIES[policyName];
  const metrics = Array.from({ length: METRICS }, () => new MetricSeries(policy));
  const rounds = Array.from({ length: TIMED_ROUNDS + 1 }, (_, round) =>
    Array.from({ length: METRICS }, (_, metric) => batchFor(round, metric)),
  );
  const run = (round: number, encode: boolean) => {
    let bytes = 0;
    const batches = rounds[round] ?? [];
    for (let metric = 0; metric < METRICS; metric++) {
      const series = metrics[metric] as MetricSeries;
      const { timestamps, values } = batches[metric] as Points;
      const result = series.apply(timestamps, values);
      if (encode) bytes += encodeDirtySplits(series, result);
    }
    return bytes;
  };
  run(0, true); // warm-up round: JIT and first allocations
  const started = cpuSeconds();
  const wallStarted = process.hrtime.bigint();
  let bytes = 0;
  for (let round = 1; round <= TIMED_ROUNDS; round++) bytes += run(round, true);
  const elapsed = cpuSeconds() - started;
  const wallElapsed = Number(process.hrtime.bigint() - wallStarted) / 1e9;
  const measures = METRICS * BATCH * TIMED_ROUNDS;
  console.log(
    `${policyName.padEnd(6)} ${policy.aggregationMethods.length} methods × ${policy.definition.length} granularities: ` +
      `${Math.round(measures / elapsed).toLocaleString('en')} measures per CPU-second including dirty-split encode ` +
      `(${METRICS.toLocaleString('en')} metrics × ${BATCH}-point batches × ${TIMED_ROUNDS} rounds, ` +
      `${(bytes / measures).toFixed(1)} encoded bytes per measure; ` +
      `${Math.round(measures / wallElapsed).toLocaleString('en')}/s by wall clock)`,
  );
}

function gaugeSplit(): { key: number; points: Points } {
  const key = 1_425_600_000 * SECOND;
  const { slots, values } = gaugeSeries(3600);
  const inSplit = slots.filter((slot) => slot < 3600);
  return {
    key,
    points: {
      timestamps: Float64Array.from(inSplit, (slot) => key + slot * MINUTE),
      values: Float64Array.from(values.slice(0, inSplit.length)),
    },
  };
}

function codecThroughput(): void {
  const { key, points } = gaugeSplit();
  const payloadBytes = points.timestamps.length * 10;
  const encoded = encodeSplit(key, MINUTE, points);
  const iterations = 3000;
  let started = cpuSeconds();
  for (let index = 0; index < iterations; index++) encodeSplit(key, MINUTE, points);
  const encodeSeconds = cpuSeconds() - started;
  started = cpuSeconds();
  for (let index = 0; index < iterations; index++) decodeSplit(key, MINUTE, encoded);
  const decodeSeconds = cpuSeconds() - started;
  const rate = (elapsed: number) => ((payloadBytes * iterations) / elapsed / 1e6).toFixed(0);
  // MB/s per CPU-second, of the uncompressed payload (10 bytes per point).
  console.log(
    `split codec (full ${points.timestamps.length}-point gauge split, MB of uncompressed v3 payload): ` +
      `encode ${rate(encodeSeconds)} MB/s, decode ${rate(decodeSeconds)} MB/s`,
  );
}

function bytesPerPoint(): void {
  const { key, points } = gaugeSplit();
  const ours = encodeSplit(key, MINUTE, points).length / points.timestamps.length;
  const gnocchi = readFileSync(new URL('../test/fixtures/gnocchi-gauge-split.v3', import.meta.url)).length;
  const theirs = gnocchi / points.timestamps.length;
  console.log(
    `bytes per point, 60 s gauge split (${points.timestamps.length} points, 1% gaps, 2-decimal values): ` +
      `${ours.toFixed(3)} here vs ${theirs.toFixed(3)} Gnocchi v3 (numpy + python-lz4, fixture) → ` +
      `${((ours / theirs - 1) * 100).toFixed(1)}%`,
  );
}

processorLoop('medium');
processorLoop('high');
codecThroughput();
bytesPerPoint();
