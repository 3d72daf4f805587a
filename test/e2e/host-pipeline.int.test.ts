import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import type { TSchema } from '@sinclair/typebox';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiConfigSchema, type RunningApi, startApi } from '../../apps/api/index.ts';
import { IngestConfigSchema, type RunningIngest, startIngest } from '../../apps/ingest/index.ts';
import { type Poller, PollerConfigSchema, startPoller } from '../../apps/poller/index.ts';
import { ProcessorConfigSchema, type RunningProcessor, startProcessor } from '../../apps/processor/index.ts';
import { infra } from '../infra/endpoints.ts';

/**
 * Issue 9's end-to-end path on this machine: the poller's host pollster → Avro samples → ingest
 * (resources and metrics created in the index) → MeasureBatch → processor (checkpointed state) →
 * the Gnocchi API, whose aggregates must equal what /proc reported. Every app runs in this process
 * with its real wiring, on topics, a database and a storage folder of its own.
 */
const suffix = randomUUID().slice(0, 8);
const work = mkdtempSync(join(tmpdir(), 'granary-e2e-'));
const database = `e2e_${suffix}`;
const processorGroup = `e2e-processors-${suffix}`;
const ADMIN = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` };
/** Meters whose value cannot move while the test runs, so the aggregate must equal /proc exactly. */
const CONSTANT_METERS = { 'hardware.memory.total': 'MemTotal', 'hardware.memory.swap.total': 'SwapTotal' };

const topic = (name: string, partitions: number) => ({
  name: `e2e.${suffix}.${name}`,
  partitions,
  replicationFactor: 1,
  retentionMs: 3_600_000,
  cleanupPolicy: 'delete',
});

let api: RunningApi | undefined;
let processor: RunningProcessor | undefined;
let ingest: RunningIngest | undefined;
let poller: Poller | undefined;

function configOf<S extends TSchema>(schema: S, app: string, own: Record<string, unknown>) {
  const endpoints = infra();
  const common = {
    kafka: { brokers: endpoints.kafkaBrokers, clientId: `e2e-${app}` },
    schemaRegistry: { url: endpoints.schemaRegistryUrl },
    topics: {
      samples: topic('samples', 2),
      measures: topic('measures', 4),
      samplesDeadLetter: topic('samples.dlq', 1),
      measuresDeadLetter: topic('measures.dlq', 1),
    },
    log: { level: 'warn' },
    admin: { host: '127.0.0.1', port: 0 },
  };
  const file = join(work, `${app}.yaml`);
  // JSON is YAML: the apps read their files exactly as in production.
  writeFileSync(file, JSON.stringify({ ...common, ...own }));
  return loadConfig(schema, { file, env: {} });
}

function databaseUrl(name: string): string {
  const url = new URL(infra().databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdminDatabase(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function procMeminfo(): Record<string, number> {
  return Object.fromEntries(
    readFileSync('/proc/meminfo', 'utf8')
      .split('\n')
      .filter((line) => line.includes(':'))
      .map((line) => [
        line.slice(0, line.indexOf(':')),
        Number.parseInt(line.slice(line.indexOf(':') + 1), 10),
      ]),
  );
}

async function getJson(path: string): Promise<unknown> {
  const response = await fetch(`${api!.url}${path}`, { headers: ADMIN });
  expect(response.status, `GET ${path}: ${await response.clone().text()}`).toBe(200);
  return response.json();
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

beforeAll(async () => {
  await withAdminDatabase(`create database ${database}`);
  const endpoints = infra();
  const shared = {
    database: { url: databaseUrl(database) },
    redis: { url: endpoints.redisUrl },
  };
  const storage = { driver: 'file', file: { basePath: join(work, 'storage') } };
  const logger = createLogger('e2e', 'warn');

  // The API migrates and seeds the index; ingest creates resources as soon as it starts.
  api = await startApi(
    configOf(ApiConfigSchema, 'api', {
      ...shared,
      storage,
      api: { host: '127.0.0.1', port: 0 },
      measures: { processorGroupId: processorGroup },
    }),
    logger,
  );
  processor = await startProcessor(
    configOf(ProcessorConfigSchema, 'processor', {
      ...shared,
      storage,
      processor: { groupId: processorGroup, sessionTimeoutMs: 10_000, checkpoint: { intervalMs: 500 } },
    }),
    logger,
  );
  ingest = await startIngest(
    configOf(IngestConfigSchema, 'ingest', {
      ...shared,
      ingest: {
        groupId: `e2e-ingest-${suffix}`,
        oslo: { enabled: false },
        cache: { redisKeyPrefix: `granary:e2e:${suffix}:` },
      },
    }),
    logger,
  );
  const pollingFile = join(work, 'polling.yaml');
  writeFileSync(
    pollingFile,
    `sources:\n  - name: e2e\n    interval: 2\n    meters: [${Object.keys(CONSTANT_METERS).join(', ')}]\n`,
  );
  poller = await startPoller(configOf(PollerConfigSchema, 'poller', { poller: { pollingFile } }), logger);
}, 180_000);

afterAll(async () => {
  await poller?.stop();
  await ingest?.stop();
  await processor?.stop();
  await api?.stop();
  await withAdminDatabase(`drop database if exists ${database} with (force)`);
}, 120_000);

describe('poller → ingest → processor → API', () => {
  it("serves this machine's host meters as aggregates equal to what /proc reports", async () => {
    const host = await waitFor('the host resource with its metrics', async () => {
      const resources = (await getJson('/v1/resource/host')) as {
        id: string;
        metrics: Record<string, string>;
      }[];
      const found = resources.find((r) => Object.keys(CONSTANT_METERS).every((meter) => r.metrics[meter]));
      return found;
    });
    const meminfo = procMeminfo();

    for (const [meter, field] of Object.entries(CONSTANT_METERS)) {
      const metricId = host.metrics[meter]!;
      const measures = await waitFor(`aggregates of ${meter}`, async () => {
        const points = (await getJson(`/v1/metric/${metricId}/measures?refresh=true`)) as [
          string,
          number,
          number,
        ][];
        return points.length > 0 ? points : undefined;
      });
      // ceilometer-low: 5-minute mean of a value that does not change.
      for (const [timestamp, granularity, value] of measures) {
        expect(timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\+00:00$/);
        expect(granularity).toBe(300);
        expect(value).toBe(meminfo[field]);
      }
    }
  }, 180_000);
});
