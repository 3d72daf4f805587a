import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import type { TSchema } from '@sinclair/typebox';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiConfigSchema, type RunningApi, startApi } from '../../apps/api/index.ts';
import { IngestConfigSchema, type RunningIngest, startIngest } from '../../apps/ingest/index.ts';
import {
  FIXTURES,
  type FixtureNotification,
  FIXTURE_IDS as ID,
  osloRecord,
} from '../../apps/ingest/test/fixtures/notifications.ts';
import { ProcessorConfigSchema, type RunningProcessor, startProcessor } from '../../apps/processor/index.ts';
import { infra } from '../infra/endpoints.ts';
import { TEST_USERS_FILE } from '../infra/settings.ts';

/**
 * Issue 18's OpenStack inputs end to end: services' notifications on the oslo.messaging Kafka
 * topic → ingest (meters.yaml) → MeasureBatch → processor → the Gnocchi API, every app in this
 * process with its real wiring on topics, a database and a storage folder of its own.
 */
const suffix = randomUUID().slice(0, 8);
const work = mkdtempSync(join(tmpdir(), 'granary-openstack-'));
const database = `e2e_os_${suffix}`;
const processorGroup = `e2e-os-processors-${suffix}`;
const ADMIN = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` };
const NOTIFICATIONS_TOPIC = `e2e.${suffix}.notifications.info`;

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

function configOf<S extends TSchema>(schema: S, app: string, own: Record<string, unknown>) {
  const endpoints = infra();
  const common = {
    kafka: { brokers: endpoints.kafkaBrokers, clientId: `e2e-os-${app}` },
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

interface ApiResource {
  id: string;
  original_resource_id: string;
  project_id: string | null;
  user_id: string | null;
  metrics: Record<string, string>;
  [attribute: string]: unknown;
}

/** The `type` resource made for `originalId`, once it has all of `meters`. */
function resourceOf(type: string, originalId: string, meters: readonly string[]): Promise<ApiResource> {
  return waitFor(`${type} ${originalId} with ${meters.join(', ')}`, async () => {
    const resources = (await getJson(`/v1/resource/${type}`)) as ApiResource[];
    return resources.find(
      (r) => r.original_resource_id === originalId && meters.every((meter) => r.metrics[meter]),
    );
  });
}

/** The values of a metric's stored aggregates (the processor checkpoints first: refresh). */
async function values(metricId: string): Promise<number[]> {
  const points = await waitFor(`aggregates of ${metricId}`, async () => {
    const found = (await getJson(`/v1/metric/${metricId}/measures?refresh=true`)) as [
      string,
      number,
      number,
    ][];
    return found.length > 0 ? found : undefined;
  });
  return points.map(([, , value]) => value);
}

async function send(topicName: string, records: Buffer[]): Promise<void> {
  const kafka = new Kafka({ brokers: infra().kafkaBrokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic: topicName, messages: records.map((value) => ({ value })) });
  } finally {
    await producer.disconnect();
  }
}

async function ingestMetrics(): Promise<string> {
  return (await fetch(`${ingest!.adminUrl}/metrics`)).text();
}

beforeAll(async () => {
  await withAdminDatabase(`create database ${database}`);
  const endpoints = infra();
  const shared = {
    database: { url: databaseUrl(database) },
    redis: { url: endpoints.redisUrl },
  };
  const storage = { driver: 'file', file: { basePath: join(work, 'storage') } };
  const logger = createLogger('e2e-openstack', 'warn');
  api = await startApi(
    configOf(ApiConfigSchema, 'api', {
      ...shared,
      storage,
      api: { host: '127.0.0.1', port: 0, auth: { basic: { usersFile: TEST_USERS_FILE } } },
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
        groupId: `e2e-os-ingest-${suffix}`,
        telemetrySecret: 'e2e openstack secret',
        oslo: { enabled: false },
        notifications: { enabled: true, topics: [topic('notifications.info', 2)] },
        cache: { redisKeyPrefix: `granary:e2e-os:${suffix}:` },
      },
    }),
    logger,
  );
}, 180_000);

afterAll(async () => {
  await ingest?.stop();
  await processor?.stop();
  await api?.stop();
  await withAdminDatabase(`drop database if exists ${database} with (force)`);
}, 120_000);

describe('OpenStack notifications → ingest (meters.yaml) → processor → API', () => {
  it("serves each service family's meters as its resources and measures; the broken and the unknown are counted", async () => {
    const fixtures: FixtureNotification[] = [
      FIXTURES.computeInstanceExists,
      FIXTURES.imageUpload,
      FIXTURES.volumeCreateEnd,
      FIXTURES.l3Meter,
      FIXTURES.objectstoreRequest,
      FIXTURES.identityAuthenticate,
      { event_type: 'orchestration.unknown.thing', publisher_id: 'heat', payload: {} },
    ];
    await send(NOTIFICATIONS_TOPIC, [
      ...fixtures.map((fixture) => osloRecord(fixture)),
      Buffer.from('{"oslo.version": "2.0", "oslo.message": "not json"}'),
    ]);

    const instance = await resourceOf('instance', ID.instance, ['memory', 'vcpus', 'disk.root.size']);
    expect(instance).toMatchObject({
      project_id: ID.project,
      user_id: ID.user,
      display_name: 'web-1',
      flavor_id: '2',
      flavor_name: 'm1.small',
      host: 'compute-1',
      image_ref: ID.image,
    });
    expect(await values(instance.metrics.memory!)).toEqual([2048]);
    expect(await values(instance.metrics.vcpus!)).toEqual([1]);

    const image = await resourceOf('image', ID.image, ['image.size']);
    expect(image).toMatchObject({ name: 'cirros-0.6.2', container_format: 'bare', disk_format: 'qcow2' });
    expect(await values(image.metrics['image.size']!)).toEqual([21_430_272]);

    const volume = await resourceOf('volume', ID.volume, ['volume.size']);
    expect(volume).toMatchObject({ display_name: 'data-1', image_id: ID.image, instance_id: ID.instance });
    expect(await values(volume.metrics['volume.size']!)).toEqual([10]);

    const label = await resourceOf('network', ID.label, ['bandwidth']);
    expect(await values(label.metrics.bandwidth!)).toEqual([65_536]);

    const account = await resourceOf('swift_account', `AUTH_${ID.project}`, [
      'storage.objects.incoming.bytes',
      'storage.objects.outgoing.bytes',
    ]);
    expect(await values(account.metrics['storage.objects.incoming.bytes']!)).toEqual([2048]);

    const user = await resourceOf('identity', ID.user, ['identity.authenticate.success']);
    expect(await values(user.metrics['identity.authenticate.success']!)).toEqual([1]);

    const metrics = await waitFor('the broken notification counted', async () => {
      const text = await ingestMetrics();
      return /granary_ingest_rejected_total\{reason="NOTIFICATION_INVALID"[^}]*\} 1/.test(text)
        ? text
        : undefined;
    });
    expect(metrics).toMatch(/granary_ingest_notifications_dropped_total\{reason="event_type"[^}]*\} 1/);
    expect(metrics).toMatch(/granary_ingest_samples_in_total\{format="notification"[^}]*\} 10/);
    expect((await fetch(`${ingest!.adminUrl}/healthz`)).status).toBe(200);
  }, 180_000);
});
