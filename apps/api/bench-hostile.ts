/**
 * Hostile-request benchmark (issue 14; part of `make bench`): while one client repeats a costly
 * request class, another times a simple `GET /v1/archive_policy`. Node serves every request on one
 * thread, so a class that blocks it shows in that GET's p99 (goal: under 100 ms). Figures are
 * printed, not asserted. The API (and a processor, for a series to roll over) run in this process on
 * topics, a database and a file store of their own, against the real Kafka, PostgreSQL and Redis.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { startProcessor } from '@granary/app-processor';
import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import { createAppEnvironment, endpointsOf } from '@granary/testing/app-environment';
import { ApiConfigSchema, startApi } from './index.ts';

/** How long each class runs (and the GET is timed) for. */
const CLASS_SECONDS = 4;
/** Points of the series `rolling` reads: with a window of 95, just under the cost limit (2M values). */
const SERIES_POINTS = 20_000;
const ROLLING_WINDOW = 95;

const headers = {
  authorization: `basic ${Buffer.from('admin:').toString('base64')}`,
  'content-type': 'application/json',
};
const logger = createLogger('api-hostile-bench', 'warn');
const environment = await createAppEnvironment(
  'api-hostile-bench',
  endpointsOf(loadConfig(ApiConfigSchema)),
  {
    topicPrefix: 'bench.api-hostile',
    measuresPartitions: 2,
  },
);
const groupId = `bench-api-hostile-${environment.suffix}`;
const api = await startApi(
  environment.apiConfig({ processorGroupId: groupId }, { index: { seed: 'defaults' } }),
  logger,
);
const base = api.url;

/** First answer text per status and path, printed once: shows why a class is refused. */
const seen = new Set<string>();

async function call(method: string, path: string, body?: string): Promise<number> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await response.text();
  const key = `${response.status} ${path.slice(0, 40)} ${(body ?? '').slice(0, 40)}`;
  if (response.status >= 400 && !seen.has(key)) {
    seen.add(key);
    console.log(`    (${key}: ${text.slice(0, 160)})`);
  }
  return response.status;
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

/** Runs `costly` back to back for CLASS_SECONDS while timing GETs; prints both. */
async function measure(label: string, costly: () => Promise<number>): Promise<void> {
  const until = performance.now() + CLASS_SECONDS * 1000;
  const statuses = new Map<number, number>();
  const costlyTimes: number[] = [];
  const getTimes: number[] = [];
  const hostile = (async () => {
    while (performance.now() < until) {
      const started = performance.now();
      const status = await costly();
      costlyTimes.push(performance.now() - started);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  })();
  const simple = (async () => {
    while (performance.now() < until) {
      const started = performance.now();
      await call('GET', '/v1/archive_policy');
      getTimes.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  await Promise.all([hostile, simple]);
  getTimes.sort((a, b) => a - b);
  costlyTimes.sort((a, b) => a - b);
  const answered = [...statuses].map(([status, count]) => `${count}×${status}`).join(' ');
  console.log(
    `  ${label.padEnd(34)} GET p50 ${percentile(getTimes, 50).toFixed(1)} ms, p99 ${percentile(getTimes, 99).toFixed(1)} ms (${getTimes.length} GETs); costly request p50 ${percentile(costlyTimes, 50).toFixed(0)} ms, answered ${answered}`,
  );
}

let processor: Awaited<ReturnType<typeof startProcessor>> | undefined;
try {
  console.log(
    `api hostile bench: load average before ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
  const policy = `bench-hostile-${randomUUID()}`;
  await call(
    'POST',
    '/v1/archive_policy',
    JSON.stringify({ name: policy, definition: [{ granularity: '1s', points: SERIES_POINTS * 2 }] }),
  );
  const resourceId = randomUUID();
  const names = Array.from({ length: 20 }, (_, i) => `${'a'.repeat(40)}.${i}`);
  await call(
    'POST',
    '/v1/resource/generic',
    JSON.stringify({
      id: resourceId,
      metrics: Object.fromEntries(names.map((name) => [name, { archive_policy_name: policy }])),
    }),
  );
  const created = await fetch(`${base}/v1/metric`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ archive_policy_name: policy }),
  });
  const seriesId = ((await created.json()) as { id: string }).id;
  const start = Math.floor(Date.now() / 1000) - SERIES_POINTS;
  const points = Array.from({ length: SERIES_POINTS }, (_, i) => ({ timestamp: start + i, value: i % 97 }));
  await call('POST', `/v1/metric/${seriesId}/measures`, JSON.stringify(points));
  processor = await startProcessor(
    environment.processorConfig('processor', {
      groupId,
      checkpoint: { intervalMs: 3_600_000 },
      compaction: { intervalMs: 3_600_000 },
    }),
    logger,
  );
  // Until the processor owns the partitions, a refresh answers 503.
  for (let attempt = 0; attempt < 120; attempt++) {
    if ((await call('GET', `/v1/metric/${seriesId}/measures?refresh=true&granularity=1`)) === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  console.log(
    `p50/p99 of a concurrent GET /v1/archive_policy while each class runs (${CLASS_SECONDS} s each):`,
  );
  await measure('nothing (baseline)', async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return 0;
  });
  await measure('wildcard glob *a*a…*b (30 stars)', () =>
    call(
      'POST',
      '/v1/aggregates',
      JSON.stringify({
        operations: ['metric', `${'*a'.repeat(30)}*b`, 'mean'],
        resource_type: 'generic',
        search: { '=': { id: resourceId } },
      }),
    ),
  );
  await measure(`rolling ${ROLLING_WINDOW} over ${SERIES_POINTS} points`, () =>
    call(
      'POST',
      '/v1/aggregates',
      JSON.stringify({ operations: ['rolling', 'mean', ROLLING_WINDOW, ['metric', seriesId, 'mean']] }),
    ),
  );
  await measure('rolling 10000 (refused)', () =>
    call(
      'POST',
      '/v1/aggregates',
      JSON.stringify({ operations: ['rolling', 'mean', 10_000, ['metric', seriesId, 'mean']] }),
    ),
  );
  const sorts = Array.from({ length: 2000 }, () => 'sort=id').join('&');
  await measure('2000× sort=id with a marker', () =>
    call('GET', `/v1/resource/generic?${sorts}&marker=${resourceId}`),
  );
  const ids = Array.from({ length: 1000 }, () => randomUUID());
  await measure('1000 metric ids in aggregates', () =>
    call(
      'POST',
      '/v1/aggregates',
      JSON.stringify({ operations: ['aggregate', 'mean', ['metric', ...ids.map((id) => [id, 'mean'])]] }),
    ),
  );
  const many = Array.from({ length: 20_000 }, () => randomUUID());
  await measure('20000 metric ids (refused)', () =>
    call(
      'POST',
      '/v1/aggregates',
      JSON.stringify({ operations: ['aggregate', 'mean', ['metric', ...many.map((id) => [id, 'mean'])]] }),
    ),
  );
  const big = JSON.stringify(
    Array.from({ length: 150_000 }, (_, i) => ({ timestamp: start - 200_000 + i, value: i })),
  );
  await measure('POST of 150000 measures', () => call('POST', `/v1/metric/${seriesId}/measures`, big));
  const deep = `{"operations": ${'['.repeat(100_000)}1${']'.repeat(100_000)}}`;
  await measure('JSON nested 100000 deep', () => call('POST', '/v1/aggregates', deep));
} finally {
  await processor?.stop();
  await api.stop();
  await environment.stop();
}
