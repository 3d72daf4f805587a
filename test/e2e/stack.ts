import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@granary/config';
import type { Logger } from '@granary/observability';
import type { TSchema } from '@sinclair/typebox';
import pg from 'pg';
import { expect } from 'vitest';
import { ApiConfigSchema, type RunningApi, startApi } from '../../apps/api/index.ts';
import { ProcessorConfigSchema, type RunningProcessor, startProcessor } from '../../apps/processor/index.ts';
import { infra } from '../infra/endpoints.ts';
import { TEST_USERS_FILE } from '../infra/settings.ts';

/**
 * What the end-to-end suites share: apps started in the test process with their real wiring, on
 * topics, a database and a storage folder of their own, and the API read back as a client would.
 */
export const ADMIN = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` };

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export interface ApiResource {
  id: string;
  original_resource_id: string;
  project_id: string | null;
  user_id: string | null;
  metrics: Record<string, string>;
  [attribute: string]: unknown;
}

export interface E2eStack {
  readonly suffix: string;
  /** Kafka topic spec named for this stack. */
  topic(name: string, partitions: number): Record<string, unknown>;
  /** An app's configuration, written to a file and loaded as in production, with the stack's endpoints. */
  configOf<S extends TSchema>(
    schema: S,
    app: string,
    own: Record<string, unknown>,
  ): ReturnType<typeof loadConfig<S>>;
  /** Database and Redis settings every app of the stack shares. */
  readonly shared: Record<string, unknown>;
  readonly api: RunningApi;
  readonly processor: RunningProcessor;
  getJson(path: string): Promise<unknown>;
  /** The `type` resource made for `originalId`, once it has all of `meters`. */
  resourceOf(type: string, originalId: string, meters: readonly string[]): Promise<ApiResource>;
  /** A metric's stored aggregates (the processor checkpoints first: refresh). */
  aggregates(metricId: string): Promise<[string, number, number][]>;
  stop(): Promise<void>;
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

/** A database, the API and a processor for one suite; its other apps use `configOf` and `shared`. */
export async function startE2eStack(name: string, logger: Logger): Promise<E2eStack> {
  const suffix = randomUUID().slice(0, 8);
  const work = mkdtempSync(join(tmpdir(), `granary-${name}-`));
  const database = `e2e_${name.replaceAll('-', '_')}_${suffix}`;
  const processorGroup = `e2e-${name}-processors-${suffix}`;
  const topic = (topicName: string, partitions: number) => ({
    name: `e2e.${suffix}.${topicName}`,
    partitions,
    replicationFactor: 1,
    retentionMs: 3_600_000,
    cleanupPolicy: 'delete',
  });
  const endpoints = infra();
  const configOf = <S extends TSchema>(schema: S, app: string, own: Record<string, unknown>) => {
    const common = {
      kafka: { brokers: endpoints.kafkaBrokers, clientId: `e2e-${name}-${app}` },
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
  };
  await withAdminDatabase(`create database ${database}`);
  const shared = { database: { url: databaseUrl(database) }, redis: { url: endpoints.redisUrl } };
  const storage = { driver: 'file', file: { basePath: join(work, 'storage') } };
  // The API migrates and seeds the index; ingest creates resources as soon as it starts.
  const api = await startApi(
    configOf(ApiConfigSchema, 'api', {
      ...shared,
      storage,
      api: { host: '127.0.0.1', port: 0, auth: { basic: { usersFile: TEST_USERS_FILE } } },
      measures: { processorGroupId: processorGroup },
    }),
    logger,
  );
  const processor = await startProcessor(
    configOf(ProcessorConfigSchema, 'processor', {
      ...shared,
      storage,
      processor: { groupId: processorGroup, sessionTimeoutMs: 10_000, checkpoint: { intervalMs: 500 } },
    }),
    logger,
  );

  const getJson = async (path: string): Promise<unknown> => {
    const response = await fetch(`${api.url}${path}`, { headers: ADMIN });
    expect(response.status, `GET ${path}: ${await response.clone().text()}`).toBe(200);
    return response.json();
  };
  return {
    suffix,
    topic,
    configOf,
    shared,
    api,
    processor,
    getJson,
    resourceOf: (type, originalId, meters) =>
      waitFor(`${type} ${originalId} with ${meters.join(', ')}`, async () => {
        const resources = (await getJson(`/v1/resource/${type}`)) as ApiResource[];
        return resources.find(
          (r) => r.original_resource_id === originalId && meters.every((meter) => r.metrics[meter]),
        );
      }),
    aggregates: (metricId) =>
      waitFor(`aggregates of ${metricId}`, async () => {
        const points = (await getJson(`/v1/metric/${metricId}/measures?refresh=true`)) as [
          string,
          number,
          number,
        ][];
        return points.length > 0 ? points : undefined;
      }),
    stop: async () => {
      await processor.stop();
      await api.stop();
      await withAdminDatabase(`drop database if exists ${database} with (force)`);
    },
  };
}
