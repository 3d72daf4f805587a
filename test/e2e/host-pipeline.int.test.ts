import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import { parsePythonJson } from '@granary/publisher';
import { computeSignature } from '@granary/telemetry';
import type { TSchema } from '@sinclair/typebox';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiConfigSchema, type RunningApi, startApi } from '../../apps/api/index.ts';
import { IngestConfigSchema, type RunningIngest, startIngest } from '../../apps/ingest/index.ts';
import { type Poller, PollerConfigSchema, startPoller } from '../../apps/poller/index.ts';
import { ProcessorConfigSchema, type RunningProcessor, startProcessor } from '../../apps/processor/index.ts';
import { infra } from '../infra/endpoints.ts';
import { type TestHypervisor, startTestHypervisor } from '../infra/libvirt.ts';
import { TEST_USERS_FILE } from '../infra/settings.ts';
import { type Snmpd, startSnmpd } from '../infra/snmpd.ts';

/**
 * Issue 9's end-to-end paths: the poller (host pollster on this machine, SNMP pollster against a
 * real snmpd, compute pollsters against libvirt's test driver — issue 18) → Avro samples → ingest (resources and metrics created in the index) → MeasureBatch →
 * processor (checkpointed state) → the Gnocchi API, whose aggregates must equal what the sources
 * reported; and the same from a Ceilometer oslo.messaging notification on Kafka. Every app runs in
 * this process with its real wiring, on topics, a database and a storage folder of its own.
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
let snmpd: Snmpd | undefined;
let hypervisor: TestHypervisor | undefined;
/** UCD-SNMP memTotalReal.0: what Ceilometer's SNMP pollster reads for hardware.memory.total. */
const MEM_TOTAL_REAL = '.1.3.6.1.4.1.2021.4.5.0';
/** The signing secret the poller and ingest share (Ceilometer's default is refused at start). */
const TELEMETRY_SECRET = 'e2e telemetry secret';

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

interface HostResource {
  id: string;
  original_resource_id: string;
  metrics: Record<string, string>;
}

/** The host resource ingest created for `originalId`, once it has all of `meters`. */
function hostResource(originalId: string, meters: readonly string[]): Promise<HostResource> {
  return waitFor(`host ${originalId} with ${meters.join(', ')}`, async () => {
    const resources = (await getJson('/v1/resource/host')) as HostResource[];
    return resources.find(
      (r) => r.original_resource_id === originalId && meters.every((meter) => r.metrics[meter]),
    );
  });
}

interface TypedResource extends HostResource {
  [attribute: string]: unknown;
}

/** The resource of `type` whose original id is `originalId`, once it has all of `meters`. */
function typedResource(type: string, originalId: string, meters: readonly string[]): Promise<TypedResource> {
  return waitFor(`${type} ${originalId} with ${meters.join(', ')}`, async () => {
    const resources = (await getJson(`/v1/resource/${type}`)) as TypedResource[];
    return resources.find(
      (r) => r.original_resource_id === originalId && meters.every((meter) => r.metrics[meter]),
    );
  });
}

/** A metric's stored aggregates, asking the owning processor to checkpoint first (refresh). */
function aggregates(metricId: string): Promise<[string, number, number][]> {
  return waitFor(`aggregates of ${metricId}`, async () => {
    const points = (await getJson(`/v1/metric/${metricId}/measures?refresh=true`)) as [
      string,
      number,
      number,
    ][];
    return points.length > 0 ? points : undefined;
  });
}

/** What an unchanged Ceilometer polling agent writes to Kafka: one signed meter in an oslo envelope. */
function ceilometerNotification(resourceId: string, volume: string, timestamp: string): Buffer {
  const meter = `{"source": "hardware", "counter_name": "hardware.memory.total", "counter_type": "gauge", "counter_unit": "KB", "counter_volume": ${volume}, "user_id": null, "user_name": null, "project_id": null, "project_name": null, "resource_id": "${resourceId}", "timestamp": "${timestamp}", "resource_metadata": {"resource_url": "${resourceId}"}, "message_id": "${randomUUID()}", "monotonic_time": null}`;
  const signature = computeSignature(parsePythonJson(meter) as never, TELEMETRY_SECRET);
  const signed = meter.replace(/}$/, `, "message_signature": "${signature}"}`);
  const message = `{"message_id": "${randomUUID()}", "publisher_id": "ceilometer.polling", "event_type": "telemetry.polling", "priority": "SAMPLE", "payload": {"samples": [${signed}]}, "timestamp": "${timestamp}", "_context": {}}`;
  return Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': message }));
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
        groupId: `e2e-ingest-${suffix}`,
        telemetrySecret: TELEMETRY_SECRET,
        oslo: { enabled: true, topic: topic('notifications.sample', 1) },
        cache: { redisKeyPrefix: `granary:e2e:${suffix}:` },
      },
    }),
    logger,
  );
  const pollingFile = join(work, 'polling.yaml');
  snmpd = await startSnmpd();
  hypervisor = startTestHypervisor();
  writeFileSync(
    pollingFile,
    [
      'sources:',
      '  - name: e2e-host',
      '    interval: 2',
      `    meters: [${Object.keys(CONSTANT_METERS).join(', ')}]`,
      '  - name: e2e-snmp',
      '    interval: 2',
      '    meters: [hardware.memory.total]',
      `    resources: ["snmp://${snmpd.community}@${snmpd.host}:${snmpd.port}"]`,
      '  - name: e2e-compute',
      '    interval: 2',
      '    meters: [cpu, vcpus, "memory.*", power.state, "disk.device.*", "network.incoming.*"]',
      '',
    ].join('\n'),
  );
  poller = await startPoller(
    configOf(PollerConfigSchema, 'poller', {
      poller: { pollingFile, telemetrySecret: TELEMETRY_SECRET, libvirt: { uri: hypervisor.uri } },
    }),
    logger,
  );
}, 180_000);

afterAll(async () => {
  await poller?.stop();
  await ingest?.stop();
  await processor?.stop();
  await api?.stop();
  await snmpd?.stop();
  hypervisor?.remove();
  await withAdminDatabase(`drop database if exists ${database} with (force)`);
}, 120_000);

describe('poller → ingest → processor → API', () => {
  it("serves this machine's host meters as aggregates equal to what /proc reports", async () => {
    const host = await hostResource(hostname(), Object.keys(CONSTANT_METERS));
    const meminfo = procMeminfo();
    for (const [meter, field] of Object.entries(CONSTANT_METERS)) {
      // ceilometer-low: 5-minute means of a value that does not change.
      for (const [timestamp, granularity, value] of await aggregates(host.metrics[meter]!)) {
        expect(timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d[05]:00\+00:00$/);
        expect(granularity).toBe(300);
        expect(value).toBe(meminfo[field]);
      }
    }
  }, 180_000);

  it("serves an SNMP agent's memory total as snmpget reports it", async () => {
    const agent = await hostResource(snmpd!.host, ['hardware.memory.total']);
    const [reported] = snmpd!.get([MEM_TOTAL_REAL]);
    for (const [, granularity, value] of await aggregates(agent.metrics['hardware.memory.total']!)) {
      expect(granularity).toBe(300);
      expect(value).toBe(Number(reported));
    }
  }, 180_000);

  it('takes a signed Ceilometer notification from Kafka (oslo.messaging) through to the API', async () => {
    const kafka = new Kafka({ brokers: infra().kafkaBrokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const resourceId = `ceilometer-node-${suffix}`;
    const timestamp = new Date().toISOString().replace('Z', '');
    await producer.send({
      topic: `e2e.${suffix}.notifications.sample`,
      messages: [{ value: ceilometerNotification(resourceId, '4096.0', timestamp) }],
    });
    await producer.disconnect();

    const node = await hostResource(resourceId, ['hardware.memory.total']);
    const points = await aggregates(node.metrics['hardware.memory.total']!);
    expect(points).toHaveLength(1);
    expect(points[0]![1]).toBe(300);
    expect(points[0]![2]).toBe(4096);
  }, 180_000);

  it("serves a libvirt instance with nova's attributes and its cpu, memory, disk and network measures", async () => {
    const [instance] = hypervisor!.instances;
    const server = await typedResource('instance', instance!.uuid, [
      'cpu',
      'vcpus',
      'memory.usage',
      'memory.resident',
      'power.state',
    ]);
    expect(server).toMatchObject({
      id: instance!.uuid,
      display_name: instance!.displayName,
      flavor_id: instance!.flavor.id,
      flavor_name: instance!.flavor.name,
      image_ref: instance!.imageId,
      host: hostname(),
      project_id: instance!.projectId,
      user_id: instance!.userId,
    });
    // The test driver's balloon: available − usable = half the memory, 1024 MiB.
    for (const [, granularity, value] of await aggregates(server.metrics['memory.usage']!)) {
      expect(granularity).toBe(300);
      expect(value).toBe(instance!.memoryKiB / 2 / 1024);
    }
    expect((await aggregates(server.metrics.cpu!)).length).toBeGreaterThan(0);
    for (const [, , value] of await aggregates(server.metrics['power.state']!)) expect(value).toBe(1);

    const disk = await typedResource('instance_disk', `${instance!.uuid}-${instance!.disk}`, [
      'disk.device.read.bytes',
      'disk.device.capacity',
    ]);
    expect(disk).toMatchObject({ name: instance!.disk, instance_id: instance!.uuid });
    expect((await aggregates(disk.metrics['disk.device.read.bytes']!)).length).toBeGreaterThan(0);

    const vnicId = `${instance!.domainName}-${instance!.uuid}-${instance!.vnic.name}`;
    const vnic = await typedResource('instance_network_interface', vnicId, ['network.incoming.bytes']);
    expect(vnic).toMatchObject({ name: instance!.vnic.name, instance_id: instance!.uuid });
    expect((await aggregates(vnic.metrics['network.incoming.bytes']!)).length).toBeGreaterThan(0);
  }, 180_000);
});
