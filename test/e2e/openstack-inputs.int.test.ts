import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { IngestConfigSchema, type RunningIngest, startIngest } from '@granary/app-ingest';
import { createLogger } from '@granary/observability';
import { type PyDict, PyFloat } from '@granary/python-format';
import { computeSignature } from '@granary/telemetry';
import {
  FIXTURES,
  type FixtureNotification,
  FIXTURE_IDS as ID,
  osloRecord,
} from '@granary/testing/notifications';
import { encode } from '@msgpack/msgpack';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infra } from '../infra/endpoints.ts';
import { type E2eStack, startE2eStack, waitFor } from './stack.ts';

/**
 * Issue 18's OpenStack inputs end to end: services' notifications on the oslo.messaging Kafka
 * topic → ingest (meters.yaml) → MeasureBatch → processor → the Gnocchi API, every app in this
 * process with its real wiring on topics, a database and a storage folder of its own. And the UDP
 * inputs: a Ceilometer `udp://` publisher's msgpack datagrams and a statsd client, to the API.
 */
const TELEMETRY_SECRET = 'e2e openstack secret';

let stack: E2eStack | undefined;
let ingest: RunningIngest | undefined;
let notificationsTopic = '';
let statsdResource = '';

/** The values of a metric's stored aggregates. */
async function values(metricId: string): Promise<number[]> {
  return (await stack!.aggregates(metricId)).map(([, , value]) => value);
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
  const logger = createLogger('e2e-openstack', 'warn');
  stack = await startE2eStack('openstack', logger);
  const notifications = stack.topic('notifications.info', 2);
  notificationsTopic = notifications.name as string;
  statsdResource = `e2e-statsd-${stack.suffix}`;
  ingest = await startIngest(
    stack.configOf(IngestConfigSchema, 'ingest', {
      ...stack.shared,
      ingest: {
        groupId: `e2e-os-ingest-${stack.suffix}`,
        telemetrySecret: TELEMETRY_SECRET,
        oslo: { enabled: false },
        notifications: { enabled: true, topics: [notifications] },
        cache: { redisKeyPrefix: `granary:e2e-os:${stack.suffix}:` },
        udp: {
          samples: { enabled: true, host: '127.0.0.1', port: 0, flushIntervalMs: 100 },
          statsd: {
            enabled: true,
            host: '127.0.0.1',
            port: 0,
            resourceId: statsdResource,
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
  await stack?.stop();
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
    await send(notificationsTopic, [
      ...fixtures.map((fixture) => osloRecord(fixture)),
      Buffer.from('{"oslo.version": "2.0", "oslo.message": "not json"}'),
    ]);

    const instance = await stack!.resourceOf('instance', ID.instance, ['memory', 'vcpus', 'disk.root.size']);
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

    const image = await stack!.resourceOf('image', ID.image, ['image.size']);
    expect(image).toMatchObject({ name: 'cirros-0.6.2', container_format: 'bare', disk_format: 'qcow2' });
    expect(await values(image.metrics['image.size']!)).toEqual([21_430_272]);

    const volume = await stack!.resourceOf('volume', ID.volume, ['volume.size']);
    expect(volume).toMatchObject({ display_name: 'data-1', image_id: ID.image, instance_id: ID.instance });
    expect(await values(volume.metrics['volume.size']!)).toEqual([10]);

    const label = await stack!.resourceOf('network', ID.label, ['bandwidth']);
    expect(await values(label.metrics.bandwidth!)).toEqual([65_536]);

    const account = await stack!.resourceOf('swift_account', `AUTH_${ID.project}`, [
      'storage.objects.incoming.bytes',
      'storage.objects.outgoing.bytes',
    ]);
    expect(await values(account.metrics['storage.objects.incoming.bytes']!)).toEqual([2048]);

    const user = await stack!.resourceOf('identity', ID.user, ['identity.authenticate.success']);
    expect(await values(user.metrics['identity.authenticate.success']!)).toEqual([1]);

    const metrics = await waitFor('the broken notification counted', async () => {
      const text = await ingestMetrics();
      return /granary_ingest_rejected_total\{reason="NOTIFICATION_METERS_NOT_A_NOTIFICATION"[^}]*\} 1/.test(
        text,
      )
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
    const node = `udp-node-${stack!.suffix}`;
    await sendDatagrams(ingest!.udp.samples, [
      Buffer.from([0x82, 0xa1, 0x61]),
      signedMeterDatagram(node, 0.75, 'not the secret'),
      signedMeterDatagram(node, 0.75, TELEMETRY_SECRET),
    ]);
    const host = await stack!.resourceOf('host', node, ['hardware.cpu.load.1min']);
    expect(host.host_name).toBe(node);
    expect(await values(host.metrics['hardware.cpu.load.1min']!)).toEqual([0.75]);
    const metrics = await ingestMetrics();
    expect(metrics).toMatch(/granary_ingest_udp_datagrams_total\{input="samples"[^}]*\} 3/);
    expect(metrics).toMatch(
      /granary_ingest_udp_dropped_total\{input="samples",reason="UDP_INPUTS_MALFORMED_DATAGRAM"[^}]*\} 1/,
    );
    expect(metrics).toMatch(/granary_ingest_rejected_total\{reason="PUBLISHER_FORGED_SAMPLE"[^}]*\} 1/);
    expect(metrics).toMatch(/granary_ingest_samples_in_total\{format="udp"[^}]*\} 2/);
  }, 180_000);

  it("takes a statsd client's counters and gauges into the configured resource, Gnocchi's way", async () => {
    await sendDatagrams(ingest!.udp.statsd, [
      Buffer.from('e2e.requests:1|c\ne2e.requests:2|c|@0.5\ne2e.temperature:21.5|g\nbroken line\n'),
      Buffer.from([0xff, 0xfe]),
    ]);
    const resource = await stack!.resourceOf('generic', statsdResource, [
      'e2e.requests|c',
      'e2e.temperature|g',
    ]);
    expect(await values(resource.metrics['e2e.requests|c']!)).toEqual([5]);
    expect(await values(resource.metrics['e2e.temperature|g']!)).toEqual([21.5]);
    const metric = (await stack!.getJson(`/v1/metric/${resource.metrics['e2e.requests|c']}`)) as {
      archive_policy: { name: string };
    };
    expect(metric.archive_policy.name).toBe('ceilometer-low');
    const metrics = await ingestMetrics();
    expect(metrics).toMatch(/granary_ingest_udp_dropped_total\{input="statsd",reason="fields"[^}]*\} 1/);
    expect(metrics).toMatch(/granary_ingest_udp_dropped_total\{input="statsd",reason="encoding"[^}]*\} 1/);
    expect((await fetch(`${ingest!.adminUrl}/healthz`)).status).toBe(200);
  }, 180_000);
});
