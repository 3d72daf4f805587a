import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import { type PyDict, PyFloat, computeSignature } from '@granary/telemetry';
import { encode } from '@msgpack/msgpack';
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
 * process with its real wiring on topics, a database and a storage folder of its own. And the UDP
 * inputs: a Ceilometer `udp://` publisher's msgpack datagrams and a statsd client, to the API.
 */
const suffix = randomUUID().slice(0, 8);
const work = mkdtempSync(join(tmpdir(), 'granary-openstack-'));
const database = `e2e_os_${suffix}`;
const processorGroup = `e2e-os-processors-${suffix}`;
const ADMIN = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` };
const NOTIFICATIONS_TOPIC = `e2e.${suffix}.notifications.info`;
const TELEMETRY_SECRET = 'e2e openstack secret';
const STATSD_RESOURCE = `e2e-statsd-${suffix}`;

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

/** Datagrams to an ingest UDP input, from a socket of their own, as a separate client would. */
async function sendDatagrams(address: { host: string; port: number } | undefined, datagrams: Uint8Array[]) {
  expect(address).toBeDefined();
  const socket = createSocket('udp4');
  try {
    for (const datagram of datagrams)
      await new Promise<void>((resolve, reject) =>
        socket.send(datagram, address!.port, address!.host, (err) => (err ? reject(err) : resolve())),
      );
  } finally {
    socket.close();
  }
}

/** What Ceilometer's udp:// publisher sends: `msgpack.dumps(meter_message_from_counter(...))`. */
function signedMeterDatagram(resourceId: string, volume: number, secret: string): Uint8Array {
  const meter: PyDict = {
    source: 'hardware',
    counter_name: 'hardware.cpu.load.1min',
    counter_type: 'gauge',
    counter_unit: 'process',
    counter_volume: new PyFloat(volume),
    user_id: null,
    user_name: null,
    project_id: null,
    project_name: null,
    resource_id: resourceId,
    timestamp: new Date().toISOString().replace('Z', ''),
    resource_metadata: { resource_url: resourceId },
    message_id: randomUUID(),
    monotonic_time: null,
  };
  const signature = computeSignature(meter, secret);
  // A non-integral volume: msgpack writes it as float64, as Python's msgpack writes any float.
  return encode({ ...meter, counter_volume: volume, message_signature: signature });
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
        telemetrySecret: TELEMETRY_SECRET,
        oslo: { enabled: false },
        notifications: { enabled: true, topics: [topic('notifications.info', 2)] },
        cache: { redisKeyPrefix: `granary:e2e-os:${suffix}:` },
        udp: {
          samples: { enabled: true, host: '127.0.0.1', port: 0, flushIntervalMs: 100 },
          statsd: {
            enabled: true,
            host: '127.0.0.1',
            port: 0,
            resourceId: STATSD_RESOURCE,
            archivePolicyName: 'ceilometer-low',
            flushDelayMs: 500,
          },
        },
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

describe('UDP inputs → ingest → processor → API', () => {
  it("takes Ceilometer's signed msgpack samples; a forged or malformed datagram is counted and dropped", async () => {
    const node = `udp-node-${suffix}`;
    await sendDatagrams(ingest!.udp.samples, [
      Buffer.from([0x82, 0xa1, 0x61]),
      signedMeterDatagram(node, 0.75, 'not the secret'),
      signedMeterDatagram(node, 0.75, TELEMETRY_SECRET),
    ]);
    const host = await resourceOf('host', node, ['hardware.cpu.load.1min']);
    expect(host.host_name).toBe(node);
    expect(await values(host.metrics['hardware.cpu.load.1min']!)).toEqual([0.75]);
    const metrics = await ingestMetrics();
    expect(metrics).toMatch(/granary_ingest_udp_datagrams_total\{input="samples"[^}]*\} 3/);
    expect(metrics).toMatch(
      /granary_ingest_udp_dropped_total\{input="samples",reason="UDP_MALFORMED_DATAGRAM"[^}]*\} 1/,
    );
    expect(metrics).toMatch(/granary_ingest_rejected_total\{reason="PUBLISHER_FORGED_SAMPLE"[^}]*\} 1/);
    expect(metrics).toMatch(/granary_ingest_samples_in_total\{format="udp"[^}]*\} 2/);
  }, 180_000);

  it("takes a statsd client's counters and gauges into the configured resource, Gnocchi's way", async () => {
    await sendDatagrams(ingest!.udp.statsd, [
      Buffer.from('e2e.requests:1|c\ne2e.requests:2|c|@0.5\ne2e.temperature:21.5|g\nbroken line\n'),
      Buffer.from([0xff, 0xfe]),
    ]);
    const resource = await resourceOf('generic', STATSD_RESOURCE, ['e2e.requests|c', 'e2e.temperature|g']);
    expect(await values(resource.metrics['e2e.requests|c']!)).toEqual([5]);
    expect(await values(resource.metrics['e2e.temperature|g']!)).toEqual([21.5]);
    const metric = (await getJson(`/v1/metric/${resource.metrics['e2e.requests|c']}`)) as {
      archive_policy: { name: string };
    };
    expect(metric.archive_policy.name).toBe('ceilometer-low');
    const metrics = await ingestMetrics();
    expect(metrics).toMatch(/granary_ingest_udp_dropped_total\{input="statsd",reason="fields"[^}]*\} 1/);
    expect(metrics).toMatch(/granary_ingest_udp_dropped_total\{input="statsd",reason="encoding"[^}]*\} 1/);
    expect((await fetch(`${ingest!.adminUrl}/healthz`)).status).toBe(200);
  }, 180_000);
});
