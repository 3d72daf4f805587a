import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { IngestConfigSchema, type RunningIngest, startIngest } from '@granary/app-ingest';
import { type Poller, PollerConfigSchema, startPoller } from '@granary/app-poller';
import { createLogger } from '@granary/observability';
import { parsePythonJson } from '@granary/python-format';
import { computeSignature } from '@granary/telemetry';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infra } from '../infra/endpoints.ts';
import { type TestHypervisor, startTestHypervisor } from '../infra/libvirt.ts';
import { type Snmpd, startSnmpd } from '../infra/snmpd.ts';
import { type E2eStack, startE2eStack } from './stack.ts';

/**
 * Issue 9's end-to-end paths: the poller (host pollster on this machine, SNMP pollster against a
 * real snmpd, compute pollsters against libvirt's test driver — issue 18) → Avro samples → ingest
 * (resources and metrics created in the index) → MeasureBatch → processor (checkpointed state) →
 * the Gnocchi API, whose aggregates must equal what the sources
 * reported; and the same from a Ceilometer oslo.messaging notification on Kafka. Every app runs in
 * this process with its real wiring, on topics, a database and a storage folder of its own
 * (test/e2e/stack.ts).
 */

/** Meters whose value cannot move while the test runs, so the aggregate must equal /proc exactly. */
const CONSTANT_METERS = { 'hardware.memory.total': 'MemTotal', 'hardware.memory.swap.total': 'SwapTotal' };

let stack: E2eStack;
let ingest: RunningIngest | undefined;
let poller: Poller | undefined;
let snmpd: Snmpd | undefined;
let hypervisor: TestHypervisor | undefined;
/** UCD-SNMP memTotalReal.0: what Ceilometer's SNMP pollster reads for hardware.memory.total. */
const MEM_TOTAL_REAL = '.1.3.6.1.4.1.2021.4.5.0';
/** The signing secret the poller and ingest share (Ceilometer's default is refused at start). */
const TELEMETRY_SECRET = 'e2e telemetry secret';

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

/** What an unchanged Ceilometer polling agent writes to Kafka: one signed meter in an oslo envelope. */
function ceilometerNotification(resourceId: string, volume: string, timestamp: string): Buffer {
  const meter = `{"source": "hardware", "counter_name": "hardware.memory.total", "counter_type": "gauge", "counter_unit": "KB", "counter_volume": ${volume}, "user_id": null, "user_name": null, "project_id": null, "project_name": null, "resource_id": "${resourceId}", "timestamp": "${timestamp}", "resource_metadata": {"resource_url": "${resourceId}"}, "message_id": "${randomUUID()}", "monotonic_time": null}`;
  const signature = computeSignature(parsePythonJson(meter) as never, TELEMETRY_SECRET);
  const signed = meter.replace(/}$/, `, "message_signature": "${signature}"}`);
  const message = `{"message_id": "${randomUUID()}", "publisher_id": "ceilometer.polling", "event_type": "telemetry.polling", "priority": "SAMPLE", "payload": {"samples": [${signed}]}, "timestamp": "${timestamp}", "_context": {}}`;
  return Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': message }));
}

beforeAll(async () => {
  const logger = createLogger('e2e', 'warn');
  stack = await startE2eStack('host', logger);
  ingest = await startIngest(
    stack.configOf(IngestConfigSchema, 'ingest', {
      ...stack.shared,
      ingest: {
        groupId: `e2e-ingest-${stack.suffix}`,
        telemetrySecret: TELEMETRY_SECRET,
        oslo: { enabled: true, topic: stack.topic('notifications.sample', 1) },
        cache: { redisKeyPrefix: `granary:e2e:${stack.suffix}:` },
      },
    }),
    logger,
  );
  const pollingFile = join(mkdtempSync(join(tmpdir(), 'granary-e2e-polling-')), 'polling.yaml');
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
    stack.configOf(PollerConfigSchema, 'poller', {
      poller: { pollingFile, telemetrySecret: TELEMETRY_SECRET, libvirt: { uri: hypervisor.uri } },
    }),
    logger,
  );
}, 180_000);

afterAll(async () => {
  await poller?.stop();
  await ingest?.stop();
  await stack?.stop();
  await snmpd?.stop();
  hypervisor?.remove();
}, 120_000);

/** The host resource ingest created for `originalId`, once it has all of `meters`. */
const hostResource = (originalId: string, meters: readonly string[]) =>
  stack.resourceOf('host', originalId, meters);

describe('poller → ingest → processor → API', () => {
  it("serves this machine's host meters as aggregates equal to what /proc reports", async () => {
    const host = await hostResource(hostname(), Object.keys(CONSTANT_METERS));
    const meminfo = procMeminfo();
    for (const [meter, field] of Object.entries(CONSTANT_METERS)) {
      // ceilometer-low: 5-minute means of a value that does not change.
      for (const [timestamp, granularity, value] of await stack.aggregates(host.metrics[meter]!)) {
        expect(timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d[05]:00\+00:00$/);
        expect(granularity).toBe(300);
        expect(value).toBe(meminfo[field]);
      }
    }
  }, 180_000);

  it("serves an SNMP agent's memory total as snmpget reports it", async () => {
    const agent = await hostResource(snmpd!.host, ['hardware.memory.total']);
    const [reported] = snmpd!.get([MEM_TOTAL_REAL]);
    for (const [, granularity, value] of await stack.aggregates(agent.metrics['hardware.memory.total']!)) {
      expect(granularity).toBe(300);
      expect(value).toBe(Number(reported));
    }
  }, 180_000);

  it('takes a signed Ceilometer notification from Kafka (oslo.messaging) through to the API', async () => {
    const kafka = new Kafka({ brokers: infra().kafkaBrokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const resourceId = `ceilometer-node-${stack.suffix}`;
    const timestamp = new Date().toISOString().replace('Z', '');
    await producer.send({
      topic: `e2e.${stack.suffix}.notifications.sample`,
      messages: [{ value: ceilometerNotification(resourceId, '4096.0', timestamp) }],
    });
    await producer.disconnect();

    const node = await hostResource(resourceId, ['hardware.memory.total']);
    const points = await stack.aggregates(node.metrics['hardware.memory.total']!);
    expect(points).toHaveLength(1);
    expect(points[0]![1]).toBe(300);
    expect(points[0]![2]).toBe(4096);
  }, 180_000);

  it("serves a libvirt instance with nova's attributes and its cpu, memory, disk and network measures", async () => {
    const [instance] = hypervisor!.instances;
    const server = await stack.resourceOf('instance', instance!.uuid, [
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
    for (const [, granularity, value] of await stack.aggregates(server.metrics['memory.usage']!)) {
      expect(granularity).toBe(300);
      expect(value).toBe(instance!.memoryKiB / 2 / 1024);
    }
    expect((await stack.aggregates(server.metrics.cpu!)).length).toBeGreaterThan(0);
    for (const [, , value] of await stack.aggregates(server.metrics['power.state']!)) expect(value).toBe(1);

    const disk = await stack.resourceOf('instance_disk', `${instance!.uuid}-${instance!.disk}`, [
      'disk.device.read.bytes',
      'disk.device.capacity',
    ]);
    expect(disk).toMatchObject({ name: instance!.disk, instance_id: instance!.uuid });
    expect((await stack.aggregates(disk.metrics['disk.device.read.bytes']!)).length).toBeGreaterThan(0);

    const vnicId = `${instance!.domainName}-${instance!.uuid}-${instance!.vnic.name}`;
    const vnic = await stack.resourceOf('instance_network_interface', vnicId, ['network.incoming.bytes']);
    expect(vnic).toMatchObject({ name: instance!.vnic.name, instance_id: instance!.uuid });
    expect((await stack.aggregates(vnic.metrics['network.incoming.bytes']!)).length).toBeGreaterThan(0);
  }, 180_000);
});
