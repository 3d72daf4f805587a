/**
 * API benchmark (issue 7; `make bench`, endpoints from .granary/infra.env through loadConfig): the
 * query service and a processor run in this process against the real Kafka, registry, PostgreSQL
 * and Redis, on topics, a database, a consumer group and a storage folder of their own. Reports
 *   - batch write throughput (`POST /v1/batch/metrics/measures`, 5,000 measures per request, 202 =
 *     acknowledged by the broker) with 1, 2 and 4 concurrent clients;
 *   - `GET /v1/metric/{id}/measures?granularity=60` latency for one year of 1-minute points (Gnocchi
 *     answers in about 1.3 s), from live checkpoint segments and again after compaction into splits;
 *   - `POST /v1/aggregates` latency for `(aggregate mean (metric …))` across 100 metrics of a day each.
 * The processor is started only after the writes: on this 2-core machine it would otherwise share the
 * cores with the API being measured (in production it runs elsewhere).
 */
import { loadavg } from 'node:os';
import { type RunningProcessor, startProcessor } from '@granary/app-processor';
import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import { createObjectStore, readManifest } from '@granary/storage';
import { createAppEnvironment, endpointsOf } from '@granary/testing/app-environment';
import { ApiConfigSchema, type RunningApi, startApi } from './index.ts';

const MEASURES_PER_REQUEST = 5_000;
const METRICS_PER_WRITE_REQUEST = 5;
const WRITE_REQUESTS_PER_LEVEL = 60;
const CLIENT_LEVELS = [1, 2, 4];
const YEAR_POINTS = 525_600;
const DAY_POINTS = 1_440;
const AGGREGATE_METRICS = 100;
const GET_RUNS = 20;
const AGGREGATE_RUNS = 30;
const PARTITIONS = 8;
const MINUTE_US = 60_000_000;
const GNOCCHI_YEAR_GET_SECONDS = 1.3;

const endpoints = loadConfig(ApiConfigSchema);
const logger = createLogger('api-bench', 'warn');
const environment = await createAppEnvironment('api-bench', endpointsOf(endpoints), {
  topicPrefix: 'bench.api',
  measuresPartitions: PARTITIONS,
});
const { suffix, topics, storage } = environment;
const groupId = `api-bench-${suffix}`;
const policyName = `bench-minute-year-${suffix}`;
const ADMIN = { authorization: 'Basic YWRtaW46' };
const JSON_ADMIN = { ...ADMIN, 'content-type': 'application/json' };

/** The processor's configuration, read from a file of its own exactly as in production. */
function processorConfig(name: string, compaction: Record<string, number>) {
  return environment.processorConfig(name, {
    groupId,
    sessionTimeoutMs: 10_000,
    checkpoint: { intervalMs: 1000 },
    compaction,
    janitor: { intervalMs: 3_600_000 },
  });
}

const now = () => performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let api: RunningApi | undefined;
let processor: RunningProcessor | undefined;

async function call(method: string, path: string, body?: string, expected = [200, 201, 202, 204]) {
  const response = await fetch(`${api!.url}${path}`, {
    method,
    headers: body === undefined ? ADMIN : JSON_ADMIN,
    ...(body === undefined ? {} : { body }),
  });
  const bytes = await response.arrayBuffer();
  if (!expected.includes(response.status)) {
    const text = new TextDecoder().decode(bytes).slice(0, 500);
    throw new Error(`${method} ${path}: ${response.status} ${text}`);
  }
  return bytes;
}

const json = (bytes: ArrayBuffer): unknown => JSON.parse(new TextDecoder().decode(bytes));

async function createMetrics(count: number, name: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const body = JSON.stringify({ name: `${name}-${i}`, archive_policy_name: policyName });
    ids.push((json(await call('POST', '/v1/metric', body)) as { id: string }).id);
  }
  return ids;
}

const iso = (micros: number) => new Date(micros / 1000).toISOString().slice(0, 19);

/** Gnocchi's measure list for consecutive minutes from `firstUs`. */
function minutes(firstUs: number, count: number, value: (i: number) => number) {
  return Array.from({ length: count }, (_, i) => ({
    timestamp: iso(firstUs + i * MINUTE_US),
    value: value(i),
  }));
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number;
}

function latencies(label: string, samples: number[], extra = ''): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const ms = (value: number) => `${Math.round(value)} ms`;
  return `${label}: p50 ${ms(percentile(sorted, 0.5))}, p99 ${ms(percentile(sorted, 0.99))} (min ${ms(sorted[0] as number)}, max ${ms(sorted[sorted.length - 1] as number)}, n=${sorted.length})${extra}`;
}

/** Batch write throughput: `clients` concurrent clients, each on metrics of its own, bodies built beforehand. */
async function writeThroughput(clients: number, startUs: number): Promise<string> {
  const perClient = Math.ceil(WRITE_REQUESTS_PER_LEVEL / clients);
  const perMetric = MEASURES_PER_REQUEST / METRICS_PER_WRITE_REQUEST;
  const bodies: string[][] = [];
  for (let c = 0; c < clients; c++) {
    const ids = await createMetrics(METRICS_PER_WRITE_REQUEST, `write-${clients}-${c}-${suffix}`);
    bodies.push(
      Array.from({ length: perClient }, (_, r) =>
        JSON.stringify(
          Object.fromEntries(
            ids.map((id) => [id, minutes(startUs + r * perMetric * MINUTE_US, perMetric, (i) => i % 97)]),
          ),
        ),
      ),
    );
  }
  const perRequest: number[] = [];
  const started = now();
  await Promise.all(
    bodies.map(async (own) => {
      for (const body of own) {
        const sent = now();
        await call('POST', '/v1/batch/metrics/measures', body, [202]);
        perRequest.push(now() - sent);
      }
    }),
  );
  const seconds = (now() - started) / 1000;
  const measures = clients * perClient * MEASURES_PER_REQUEST;
  return `${String(clients).padStart(2)} client(s): ${Math.round(measures / seconds)} measures/s (${measures} measures in ${seconds.toFixed(2)} s); ${latencies('request', perRequest)}`;
}

/** Writes the year of one metric (in time order, 5,000 per request) and 100 metrics of a day. */
async function writeData(yearId: string, dayIds: readonly string[], yearStartUs: number, dayStartUs: number) {
  const started = now();
  for (let offset = 0; offset < YEAR_POINTS; offset += MEASURES_PER_REQUEST) {
    const count = Math.min(MEASURES_PER_REQUEST, YEAR_POINTS - offset);
    const measures = minutes(yearStartUs + offset * MINUTE_US, count, (i) => ((offset + i) % 1440) / 10);
    await call('POST', `/v1/metric/${yearId}/measures`, JSON.stringify(measures), [202]);
  }
  const yearSeconds = (now() - started) / 1000;
  const dayStarted = now();
  // Three metrics' days per request (4,320 measures).
  for (let i = 0; i < dayIds.length; i += 3) {
    const body = Object.fromEntries(
      dayIds
        .slice(i, i + 3)
        .map((id, k) => [id, minutes(dayStartUs, DAY_POINTS, (j) => (i + k) * 10 + (j % 60))]),
    );
    await call('POST', '/v1/batch/metrics/measures', JSON.stringify(body), [202]);
  }
  const daySeconds = (now() - dayStarted) / 1000;
  return { yearSeconds, daySeconds };
}

async function liveSegments(): Promise<number> {
  const store = await createObjectStore({ ...endpoints.storage, ...storage });
  try {
    let live = 0;
    for (let partition = 0; partition < PARTITIONS; partition++) {
      live += (await readManifest(store, topics.measures.name, partition))?.manifest.segments.length ?? 0;
    }
    return live;
  } finally {
    await store.close();
  }
}

async function timeGets(yearId: string, runs: number) {
  const samples: number[] = [];
  let points = 0;
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const sent = now();
    const body = await call('GET', `/v1/metric/${yearId}/measures?granularity=60`);
    samples.push(now() - sent);
    if (i === 0) {
      points = (json(body) as unknown[]).length;
      bytes = body.byteLength;
    }
  }
  return { samples, points, bytes };
}

async function timeAggregates(body: string, runs: number) {
  const samples: number[] = [];
  let points = 0;
  for (let i = 0; i < runs; i++) {
    const sent = now();
    const response = await call('POST', '/v1/aggregates', body);
    samples.push(now() - sent);
    if (i === 0) {
      points = (json(response) as { measures: { aggregated?: unknown[] } }).measures.aggregated?.length ?? 0;
    }
  }
  return { samples, points };
}

/** One refresh per partition makes the processor checkpoint everything produced so far. */
async function refreshAll(ids: readonly string[]): Promise<number> {
  const started = now();
  await Promise.all(ids.map((id) => call('GET', `/v1/metric/${id}/measures?granularity=60&refresh=true`)));
  return (now() - started) / 1000;
}

async function main(): Promise<void> {
  const load = loadavg().map((value) => value.toFixed(2));
  console.log(`api bench: ${PARTITIONS} partitions, storage file, load average before ${load.join(' ')}`);
  api = await startApi(
    environment.apiConfig({ processorGroupId: groupId, refreshTimeoutMs: 120_000 }),
    logger,
  );
  await call(
    'POST',
    '/v1/archive_policy',
    JSON.stringify({
      name: policyName,
      definition: [{ granularity: '1 minute', timespan: '365 days' }],
      aggregation_methods: ['mean'],
    }),
  );

  // Everything ends at the last whole minute before now, so that 365 days keep all of it.
  const endUs = Math.floor(Date.now() / 60_000) * MINUTE_US - MINUTE_US;
  const yearStartUs = endUs - (YEAR_POINTS - 1) * MINUTE_US;
  const dayStartUs = endUs - (DAY_POINTS - 1) * MINUTE_US;

  console.log(
    `batch write throughput (POST /v1/batch/metrics/measures, ${MEASURES_PER_REQUEST} measures/request over ${METRICS_PER_WRITE_REQUEST} metrics, ${WRITE_REQUESTS_PER_LEVEL} requests per level; processor not running):`,
  );
  await writeThroughput(1, yearStartUs); // warm-up (JIT, producer batches), not reported
  for (const clients of CLIENT_LEVELS) console.log(`  ${await writeThroughput(clients, yearStartUs)}`);
  // The throughput metrics are deleted: the processor drops their measures instead of aggregating them.
  const listed = json(await call('GET', '/v1/metric?limit=1000')) as { id: string; name: string }[];
  const writeIds = listed.filter((metric) => metric.name.startsWith('write-')).map((metric) => metric.id);
  for (const id of writeIds) await call('DELETE', `/v1/metric/${id}`);

  const [yearId] = await createMetrics(1, 'year');
  const dayIds = await createMetrics(AGGREGATE_METRICS, 'day');
  const written = await writeData(yearId!, dayIds, yearStartUs, dayStartUs);
  console.log(
    `  one metric, ${YEAR_POINTS} points in ${Math.ceil(YEAR_POINTS / MEASURES_PER_REQUEST)} sequential POST /v1/metric/{id}/measures: ${Math.round(YEAR_POINTS / written.yearSeconds)} measures/s; ${AGGREGATE_METRICS} metrics × ${DAY_POINTS} points by batch: ${Math.round((AGGREGATE_METRICS * DAY_POINTS) / written.daySeconds)} measures/s`,
  );

  // Phase 1: the processor checkpoints but never compacts; reads come from live segments.
  processor = await startProcessor(
    processorConfig('processor-live', { intervalMs: 3_600_000, graceMs: 3_600_000 }),
    logger,
  );
  const caughtUp = await refreshAll([yearId!, ...dayIds]);
  console.log(
    `processor: caught up and checkpointed ${YEAR_POINTS + AGGREGATE_METRICS * DAY_POINTS} measures (plus dropped ones of deleted metrics) ${caughtUp.toFixed(1)} s after start; live segments ${await liveSegments()}`,
  );
  const operations = `(aggregate mean (metric ${dayIds.map((id) => `(${id} mean)`).join(' ')}))`;
  const aggregatesBody = JSON.stringify({ operations });

  const report = async (phase: string) => {
    const gets = await timeGets(yearId!, GET_RUNS);
    console.log(
      `  ${latencies(`GET one year of 1-minute points (${phase})`, gets.samples, `; ${gets.points} points, ${(gets.bytes / 2 ** 20).toFixed(1)} MiB; Gnocchi ≈ ${GNOCCHI_YEAR_GET_SECONDS * 1000} ms`)}`,
    );
    const aggregates = await timeAggregates(aggregatesBody, AGGREGATE_RUNS);
    console.log(
      `  ${latencies(`POST /v1/aggregates mean of ${AGGREGATE_METRICS} metrics × ${DAY_POINTS} points (${phase})`, aggregates.samples, `; ${aggregates.points} points`)}`,
    );
  };
  console.log('read latency:');
  await report('live segments');

  // Phase 2: a processor that compacts at once takes the group over; reads come from Gnocchi splits.
  await processor.stop();
  processor = await startProcessor(
    processorConfig('processor-compacting', { intervalMs: 500, minSegments: 1, graceMs: 0 }),
    logger,
  );
  const compactStarted = now();
  for (;;) {
    if ((await liveSegments()) === 0) break;
    if (now() - compactStarted > 120_000) throw new Error('compaction did not finish within 120 s');
    await sleep(250);
  }
  console.log(
    `  (compacted ${((now() - compactStarted) / 1000).toFixed(1)} s after the processor restarted)`,
  );
  await report('compacted splits');
  console.log(
    `load average after: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
}

async function cleanup(): Promise<void> {
  await processor?.stop().catch((err: unknown) => console.error('processor stop failed', err));
  await api?.stop().catch((err: unknown) => console.error('api stop failed', err));
  await environment.stop();
}

try {
  await main();
} finally {
  await cleanup();
}
