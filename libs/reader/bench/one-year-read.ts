/**
 * `GET /v1/metric/<id>/measures?granularity=60` of one year of 1-minute points (525,600, 146
 * splits) in process: the splits written as the processor compacts them to a file store in a
 * temporary directory, then read end to end (list, fetch, decode, select, JSON bytes) and each
 * stage alone. Prints wall p50/p95 over READS reads, CPU ms per read and the load average.
 * Run: `npm run bench -w @granary/reader`; profile with `node --cpu-prof --import tsx <this file>`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BoundedLru } from '@granary/bounded-cache';
import {
  type Points,
  concatPoints,
  decodeSplit,
  encodeSplit,
  nextSplitKey,
  pointsInRange,
  splitKeyOf,
  truncateByTimespan,
} from '@granary/carbonara';
import { type MeasureSeriesRows, WrittenRows, measureRowsJson } from '@granary/rest';
import { FileObjectStore, listSplitKeys, splitObjectKey } from '@granary/storage';
import { StoredMeasureReader } from '../index.ts';

const S = 1_000_000;
const GRANULARITY_S = 60;
const GRANULARITY_US = GRANULARITY_S * S;
const YEAR_S = 365 * 86_400;
const POINTS = YEAR_S / GRANULARITY_S;
const READS = 20;
const METRIC = '5b7ebe90-4ad2-4c83-ad2c-f6a8c4e4e2a1';
const START_US = 1_704_067_200 * S; // 2024-01-01T00:00:00Z

const metric = {
  id: METRIC,
  archivePolicy: { definition: [{ granularity: GRANULARITY_S, timespan: YEAR_S }] },
};

/** Means of real gauges: mostly full-precision doubles, some short decimals and whole numbers. */
function value(index: number): number {
  if (index % 10 === 0) return index % 100;
  if (index % 10 === 1) return Math.round(Math.random() * 1000) / 10;
  return Math.random() * 100;
}

async function writeYear(store: FileObjectStore): Promise<number> {
  let splits = 0;
  for (let from = 0; from < POINTS; ) {
    const keyUs = splitKeyOf(START_US + from * GRANULARITY_US, GRANULARITY_US);
    const endUs = nextSplitKey(keyUs, GRANULARITY_US);
    const count = Math.min(POINTS - from, (endUs - (START_US + from * GRANULARITY_US)) / GRANULARITY_US);
    const points: Points = {
      timestamps: Float64Array.from({ length: count }, (_, i) => START_US + (from + i) * GRANULARITY_US),
      values: Float64Array.from({ length: count }, (_, i) => value(from + i)),
    };
    const ref = { method: 'mean', granularityUs: GRANULARITY_US, splitKeyUs: keyUs };
    await store.put(splitObjectKey(METRIC, ref), encodeSplit(keyUs, GRANULARITY_US, points));
    from += count;
    splits++;
  }
  return splits;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;

/** This process's CPU ms: on a shared machine wall time also charges other processes' work. */
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

async function timed(label: string, run: () => Promise<unknown>): Promise<void> {
  await run(); // warm-up
  const times: number[] = [];
  const cpuBefore = cpuMs();
  for (let read = 0; read < READS; read++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  const cpuPerRead = (cpuMs() - cpuBefore) / READS;
  times.sort((a, b) => a - b);
  const ms = (q: number) => quantile(times, q).toFixed(1).padStart(7);
  console.log(
    `${label.padEnd(32)} p50 ${ms(0.5)} ms  p95 ${ms(0.95)} ms  CPU ${cpuPerRead.toFixed(1).padStart(6)} ms/read`,
  );
}

const basePath = mkdtempSync(join(tmpdir(), 'granary-one-year-'));
try {
  const store = new FileObjectStore({ basePath });
  const splits = await writeYear(store);
  const reader = new StoredMeasureReader({
    store,
    topic: 'granary.measures',
    partitions: 1,
    segmentCache: new BoundedLru(64 * 1024 * 1024),
    splitCache: new BoundedLru(64 * 1024 * 1024), // as the api: splits decoded once while unchanged
  });
  const query = { metric, aggregation: 'mean', granularities: [GRANULARITY_S], refresh: false };
  const body = measureRowsJson(
    (await reader.read(query)).map(({ points }) => ({ points, granularity: GRANULARITY_S })),
  );
  console.log(
    `one-year read: ${POINTS} points in ${splits} splits, body ${(body.length / 1e6).toFixed(1)} MB, load average ${loadavg()[0]?.toFixed(1)}`,
  );

  const keys = async () => {
    const refs = await listSplitKeys(store, METRIC, 'mean', GRANULARITY_US);
    return refs.sort((a, b) => a.splitKeyUs - b.splitKeyUs);
  };
  const refs = await keys();
  const fetchAll = () =>
    Promise.all(refs.map(async (ref) => (await store.get(splitObjectKey(METRIC, ref))) as Uint8Array));
  const fetched = await fetchAll();
  const decodeAll = () =>
    fetched.map(
      (bytes, i) =>
        decodeSplit((refs[i] as { splitKeyUs: number }).splitKeyUs, GRANULARITY_US, bytes) as Points,
    );
  const decoded = decodeAll();
  const select = () => pointsInRange(truncateByTimespan(concatPoints(decoded), YEAR_S * S), START_US);
  const selected = select();

  const asRows = (series: { points: Points }[]): MeasureSeriesRows[] =>
    series.map(({ points }) => ({ points, granularity: GRANULARITY_S, reuseKey: `${METRIC} mean` }));
  await timed('end to end (read + JSON bytes)', async () =>
    measureRowsJson(asRows(await reader.read(query))),
  );
  const written = new WrittenRows(256 * 1024 * 1024);
  await timed('  again, rows reused (as the api)', async () =>
    measureRowsJson(asRows(await reader.read(query)), written),
  );
  await timed('reader.read alone', () => reader.read(query));
  await timed('  list split keys', keys);
  await timed('  fetch split bytes', fetchAll);
  await timed('  decode splits', async () => decodeAll());
  await timed('  concat, truncate, range', async () => select());
  await timed('JSON bytes (measureRowsJson)', async () => measureRowsJson(asRows([{ points: selected }])));
  // A year read each minute: the oldest point gone, a new one at the end.
  const count = selected.timestamps.length;
  const lastTimestamp = selected.timestamps[count - 1] as number;
  const later: Points = {
    timestamps: Float64Array.from({ length: count + READS + 1 }, (_, i) =>
      i < count ? (selected.timestamps[i] as number) : lastTimestamp + (i - count + 1) * GRANULARITY_US,
    ),
    values: Float64Array.from({ length: count + READS + 1 }, (_, i) =>
      i < count ? (selected.values[i] as number) : value(i),
    ),
  };
  let minute = 0;
  await timed('  a minute later, rows reused', async () => {
    minute++;
    const points = {
      timestamps: later.timestamps.subarray(minute, minute + count),
      values: later.values.subarray(minute, minute + count),
    };
    return measureRowsJson(asRows([{ points }]), written);
  });
} finally {
  rmSync(basePath, { recursive: true, force: true });
}
