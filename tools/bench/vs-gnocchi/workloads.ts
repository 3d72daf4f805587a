import { randomUUID } from 'node:crypto';
import { loadAverage } from '../proc.ts';
import { type BenchSystem, RestClient } from './system.ts';

/** How big each workload is; the same for both systems. */
export interface Sizes {
  /** Steady stream: metrics, each receiving one measure per interval. */
  streamMetrics: number;
  /** Measured intervals of the steady stream (after one warm-up interval). */
  streamIntervals: number;
  streamIntervalMs: number;
  /** Backlog drain: metrics of the 60-point shape and of the 1,440-point shape. */
  drain60Metrics: number;
  drain1440Metrics: number;
  /** Timed reads of the one-year series, and of `/v1/aggregates` over 100 metrics. */
  yearReads: number;
  aggregateReads: number;
}

export type FigureKey =
  | 'idle.worker'
  | 'stream.worker'
  | 'stream.system'
  | 'stream.lag'
  | 'stream.drainAfter'
  | 'stream.apiWrites'
  | 'drain60.worker'
  | 'drain60.rate'
  | 'drain60.apiWrites'
  | 'drain1440.worker'
  | 'drain1440.rate'
  | 'drain1440.apiWrites'
  | 'read.year'
  | 'read.aggregates';

/** One figure of one system, with the load average when it was taken. */
export interface Measurement {
  value: number;
  load: string;
  /** What qualifies the value (start-up CPU included, points returned, …). */
  note?: string;
}

/** CPU seconds of each process group during one phase. */
export interface PhaseCpu {
  phase: string;
  wallSeconds: number;
  workerCpu: number;
  apiCpu: number;
  load: string;
}

export interface SystemResult {
  figures: Map<FigureKey, Measurement>;
  phases: PhaseCpu[];
}

const MINUTE_MS = 60_000;
const DAY_MS = 1440 * MINUTE_MS;
const CONCURRENCY = 4;
/** Measures per batch request in the backlog phases (Gnocchi's API parses them all in one go). */
const MEASURES_PER_REQUEST = 20_000;
/** Granary's default `maxMetricsPerBatch`; Ceilometer's publisher sends one batch per polling cycle. */
const METRICS_PER_REQUEST = 1000;
const METRICS_PER_RESOURCE = 500;
/** Each /v1/status costs the API CPU (Gnocchi lists its incoming files): once a second. */
const DRAIN_POLL_MS = 1000;
const DRAIN_TIMEOUT_MS = 600_000;
const YEAR_POINTS = 525_600;
const AGGREGATED_METRICS = 100;
const IDLE_MS = 15_000;

type Measures = { timestamp: string; value: number }[];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (since: number) => (performance.now() - since) / 1000;

/** Runs `work` on every item, at most `concurrency` at a time. */
async function inPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const runner = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, runner));
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );
}

/** `count` consecutive measures one minute apart from `startMs`. */
function series(startMs: number, count: number, seed: number): Measures {
  return Array.from({ length: count }, (_, i) => ({
    timestamp: new Date(startMs + i * MINUTE_MS).toISOString(),
    value: ((seed * 31 + i) % 1000) / 10,
  }));
}

/** `count` metrics on `policy`, created as resources of up to 500 metrics each (fewer requests). */
async function createMetrics(api: RestClient, policy: string, count: number): Promise<string[]> {
  const sizes = chunks(
    Array.from({ length: count }, (_, i) => i),
    METRICS_PER_RESOURCE,
  );
  const created: string[][] = [];
  await inPool(
    sizes.map((members, i) => ({ members, i })),
    2,
    async ({ members, i }) => {
      const metrics = Object.fromEntries(
        members.map((m) => [`m${String(m).padStart(7, '0')}`, { archive_policy_name: policy }]),
      );
      const resource = await api.request<{ metrics: Record<string, string> }>(
        'POST',
        '/v1/resource/generic',
        {
          id: randomUUID(),
          metrics,
        },
      );
      created[i] = Object.keys(metrics).map((name) => resource.metrics[name] as string);
    },
  );
  return created.flat();
}

/** Posts every metric's measures through the batch endpoint, `perRequest` metrics per request. */
async function postBatches(
  api: RestClient,
  ids: readonly string[],
  measuresOf: (metric: number) => Measures,
  perRequest: number,
) {
  const requests = chunks(
    ids.map((id, metric) => ({ id, metric })),
    perRequest,
  );
  await inPool(requests, CONCURRENCY, async (entries) => {
    const body = Object.fromEntries(entries.map(({ id, metric }) => [id, measuresOf(metric)]));
    await api.request('POST', '/v1/batch/metrics/measures', body);
  });
}

/** Seconds until the system reports no measure left to aggregate and has settled. */
async function waitDrained(system: BenchSystem, what: string): Promise<number> {
  const started = performance.now();
  while ((await system.api.backlog()) > 0) {
    if (performance.now() - started > DRAIN_TIMEOUT_MS)
      throw new Error(`${what}: backlog not drained in ${DRAIN_TIMEOUT_MS / 1000} s`);
    await sleep(DRAIN_POLL_MS);
  }
  await system.settle();
  return seconds(started);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Runs every workload on `system`, one after the other; `progress` gets one line per step. */
export async function runWorkloads(
  system: BenchSystem,
  sizes: Sizes,
  progress: (line: string) => void,
): Promise<SystemResult> {
  const { api } = system;
  const figures = new Map<FigureKey, Measurement>();
  const phases: PhaseCpu[] = [];
  const say = (line: string) => progress(`[${system.name}] ${line}`);
  const record = (key: FigureKey, value: number, note?: string) =>
    figures.set(key, { value, load: loadAverage().split(' ')[0] as string, ...(note ? { note } : {}) });
  /** Measures the CPU of both process groups and the wall time of `work`. */
  const phase = async <T>(name: string, work: () => Promise<T>): Promise<{ result: T; cpu: PhaseCpu }> => {
    const [worker, apiCpu, started] = [system.workerCpuSeconds(), system.apiCpuSeconds(), performance.now()];
    const result = await work();
    const cpu: PhaseCpu = {
      phase: name,
      wallSeconds: seconds(started),
      workerCpu: system.workerCpuSeconds() - worker,
      apiCpu: system.apiCpuSeconds() - apiCpu,
      load: loadAverage(),
    };
    phases.push(cpu);
    say(
      `${name}: ${cpu.wallSeconds.toFixed(1)} s, worker ${cpu.workerCpu.toFixed(2)} CPU-s, API ${cpu.apiCpu.toFixed(2)} CPU-s (load ${cpu.load})`,
    );
    return { result, cpu };
  };
  const todayMs = Math.floor(Date.now() / DAY_MS) * DAY_MS;

  await api.request('POST', '/v1/archive_policy', {
    name: 'bench-year',
    back_window: 0,
    definition: [{ granularity: 60, points: YEAR_POINTS }],
    aggregation_methods: ['mean'],
  });
  say(`creating ${sizes.streamMetrics + sizes.drain60Metrics + sizes.drain1440Metrics + 1} metrics`);
  const streamIds = await createMetrics(api, 'medium', sizes.streamMetrics);
  const drain60Ids = await createMetrics(api, 'medium', sizes.drain60Metrics);
  const drain1440Ids = await createMetrics(api, 'medium', sizes.drain1440Metrics);
  const [yearId] = await createMetrics(api, 'bench-year', 1);

  // What the worker costs with nothing to do (its polling, timers, checkpoints), for scale.
  const idle = await phase(`idle, ${IDLE_MS / 1000} s`, () => sleep(IDLE_MS));
  record('idle.worker', (idle.cpu.workerCpu / idle.cpu.wallSeconds) * 60);

  // 1. Steady stream: one measure per metric per interval, the interval's timestamps a minute apart.
  const streamStartMs = todayMs - DAY_MS;
  const postRound = (round: number) =>
    postBatches(
      api,
      streamIds,
      (metric) => series(streamStartMs + round * MINUTE_MS, 1, metric),
      METRICS_PER_REQUEST,
    );
  await phase('steady stream, warm-up interval', async () => {
    await postRound(0);
    await waitDrained(system, 'warm-up');
  });
  const stream = await phase(`steady stream, ${sizes.streamIntervals} intervals`, async () => {
    let postCpu = 0;
    for (let round = 1; round <= sizes.streamIntervals; round++) {
      const started = performance.now();
      const apiBefore = system.apiCpuSeconds();
      await postRound(round);
      postCpu += system.apiCpuSeconds() - apiBefore;
      await sleep(Math.max(0, sizes.streamIntervalMs - (performance.now() - started)));
    }
    const lag = await api.backlog();
    const drainAfter = await waitDrained(system, 'steady stream');
    return { lag, drainAfter, postCpu };
  });
  const streamed = sizes.streamMetrics * sizes.streamIntervals;
  record('stream.worker', streamed / stream.cpu.workerCpu);
  record('stream.system', streamed / (stream.cpu.workerCpu + stream.cpu.apiCpu));
  record('stream.lag', stream.result.lag);
  record('stream.drainAfter', stream.result.drainAfter);
  record('stream.apiWrites', streamed / stream.result.postCpu);

  // 2. Backlog drain: everything posted while the worker is stopped, then drained.
  for (const [shape, ids] of [
    [60, drain60Ids],
    [1440, drain1440Ids],
  ] as const) {
    const total = ids.length * shape;
    const key = shape === 60 ? 'drain60' : 'drain1440';
    await system.stopWorker();
    const posted = await phase(`backlog ${ids.length} × ${shape}, posting`, () =>
      postBatches(
        api,
        ids,
        (metric) => series(todayMs - DAY_MS, shape, metric),
        Math.max(1, Math.floor(MEASURES_PER_REQUEST / shape)),
      ),
    );
    let startupCpu = 0;
    const drained = await phase(`backlog ${ids.length} × ${shape}, draining`, async () => {
      startupCpu = await system.startWorker();
      return waitDrained(system, `backlog ${shape}`);
    });
    const startup = startupCpu > 0 ? `incl. ${startupCpu.toFixed(2)} CPU-s start-up` : undefined;
    record(`${key}.worker`, total / drained.cpu.workerCpu, startup);
    record(`${key}.rate`, total / drained.result, startup && 'incl. start-up');
    record(`${key}.apiWrites`, total / posted.cpu.apiCpu);
  }

  // 3. Reads: one year of 1-minute points, and /v1/aggregates over 100 metrics of 60 points.
  await phase('one-year series, posting and processing', async () => {
    const year = series(todayMs - YEAR_POINTS * MINUTE_MS, YEAR_POINTS, 7);
    for (const part of chunks(year, MEASURES_PER_REQUEST))
      await api.request('POST', '/v1/batch/metrics/measures', { [yearId as string]: part });
    await waitDrained(system, 'one-year series');
  });
  const yearTimes: number[] = [];
  let yearBody: Uint8Array = new Uint8Array();
  await phase(`one-year read × ${sizes.yearReads}`, async () => {
    for (let i = 0; i < sizes.yearReads; i++) {
      const started = performance.now();
      yearBody = await api.exchange('GET', `/v1/metric/${yearId}/measures?aggregation=mean&granularity=60`);
      yearTimes.push(performance.now() - started);
    }
  });
  // Parsed once, after the timed reads: half a million parsed rows left for this process's GC to
  // collect would otherwise land inside the next read's time.
  const yearPoints = RestClient.parse<unknown[]>(yearBody).length;
  record('read.year', median(yearTimes), `${yearPoints.toLocaleString('en')} points`);

  const operations = [
    'aggregate',
    'mean',
    ['metric', ...drain60Ids.slice(0, AGGREGATED_METRICS).map((id) => [id, 'mean'])],
  ];
  const aggregateTimes: number[] = [];
  let aggregatePoints = 0;
  await phase(`aggregates over ${AGGREGATED_METRICS} metrics × ${sizes.aggregateReads}`, async () => {
    for (let i = 0; i < sizes.aggregateReads; i++) {
      const started = performance.now();
      const body = await api.exchange('POST', '/v1/aggregates?granularity=60', { operations });
      aggregateTimes.push(performance.now() - started);
      aggregatePoints = RestClient.parse<{ measures: { aggregated: unknown[] } }>(body).measures.aggregated
        .length;
    }
  });
  record('read.aggregates', median(aggregateTimes), `${aggregatePoints} points`);
  return { figures, phases };
}
