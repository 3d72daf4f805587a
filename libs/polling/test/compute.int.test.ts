import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRegistry, prometheusInstruments } from '@granary/observability';
import { type TestHypervisor, startTestHypervisor } from '@granary/testing/services';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMPUTE_METER_NAMES,
  LibvirtClient,
  type PolledBatch,
  type PolledSample,
  PollingScheduler,
  createComputePollsters,
  createPollingMetrics,
  localInstancesDiscovery,
  parsePollingConfig,
  pollingErrors,
} from '../index.ts';

/**
 * The compute pollsters against a real libvirt: Debian's virsh with its test driver (a node file
 * with nova metadata; the driver runs in the client, no daemon). No qemu domain here: this
 * machine has no libvirt daemon and the test must not depend on one.
 */
let hypervisor: TestHypervisor;
let client: LibvirtClient;
const HOST = 'compute-7';

function virsh(...args: string[]): string {
  return execFileSync('virsh', ['-r', '-q', '-c', hypervisor.uri, ...args], { encoding: 'utf8' });
}

async function pollAll(): Promise<Map<string, PolledSample[]>> {
  const context = { cache: new Map<string, Promise<unknown>>() };
  const resources = hypervisor.instances.map((instance) => instance.uuid);
  const samples = new Map<string, PolledSample[]>();
  for (const pollster of createComputePollsters({ client, host: HOST })) {
    samples.set(pollster.name, await pollster.poll(resources, context));
  }
  return samples;
}

/** `key value` counters of one virsh stats command. */
function counters(output: string): Map<string, number> {
  return new Map(
    output
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/).slice(-2) as [string, string])
      .map(([key, value]) => [key, Number(value)]),
  );
}

beforeAll(() => {
  hypervisor = startTestHypervisor();
  client = new LibvirtClient({ uri: hypervisor.uri });
});
afterAll(() => hypervisor?.remove());

describe('compute pollsters on libvirt (test driver)', () => {
  it('discovers the nova instances, running or shut off, and ignores other domains', async () => {
    const found = await localInstancesDiscovery({ client, host: HOST }).discover(undefined);
    expect(found.sort()).toEqual(hypervisor.instances.map((i) => i.uuid).sort());
    expect(virsh('list', '--all', '--uuid')).toContain(hypervisor.foreignUuid);
  });

  it("gives a running instance's meters with Ceilometer's units, types, ids and metadata", async () => {
    const [running] = hypervisor.instances;
    const blockBefore = counters(virsh('domblkstat', running!.uuid, running!.disk));
    const netBefore = counters(virsh('domifstat', running!.uuid, running!.vnic.name));
    const samples = await pollAll();
    const blockAfter = counters(virsh('domblkstat', running!.uuid, running!.disk));
    const netAfter = counters(virsh('domifstat', running!.uuid, running!.vnic.name));
    const one = (meter: string) => {
      const found = samples.get(meter)!.filter((s) => s.resourceId.includes(running!.uuid));
      expect(found, meter).toHaveLength(1);
      return found[0]!;
    };

    const cpu = one('cpu');
    expect(cpu).toMatchObject({ unit: 'ns', type: 'cumulative', resourceId: running!.uuid });
    const cpuSeconds = /cpu_time\s+([\d.]+)/.exec(virsh('cpu-stats', running!.uuid, '--total'))![1]!;
    expect(cpu.volume).toBe(Math.round(Number(cpuSeconds) * 1e9));
    expect(cpu.metadata).toMatchObject({ cpu_number: running!.vcpus });
    expect(one('vcpus')).toMatchObject({ unit: 'vcpu', type: 'gauge', volume: running!.vcpus });
    // The driver's balloon: available = actual, usable = unused = rss = half of it (KiB → MiB).
    const half = running!.memoryKiB / 2 / 1024;
    expect(one('memory.usage')).toMatchObject({ unit: 'MiB', type: 'gauge', volume: half });
    expect(one('memory.resident')).toMatchObject({ unit: 'MiB', type: 'gauge', volume: half });
    expect(one('memory.swap.in')).toMatchObject({ unit: 'MiB', type: 'cumulative', volume: 0 });
    expect(one('power.state')).toMatchObject({ type: 'gauge', volume: 1 });

    // Instance metadata as Ceilometer builds it from nova's, for the Gnocchi `instance` attributes.
    expect(cpu.userId).toBe(running!.userId);
    expect(cpu.projectId).toBe(running!.projectId);
    expect(cpu.metadata).toMatchObject({
      display_name: running!.displayName,
      name: running!.domainName,
      instance_id: running!.uuid,
      instance_type: running!.flavor.name,
      instance_host: HOST,
      host: createHash('sha224')
        .update(running!.projectId + HOST)
        .digest('hex'),
      flavor: { id: running!.flavor.id, name: running!.flavor.name, vcpus: 2, ram: 2048, disk: 20 },
      image_ref: running!.imageId,
      status: 'active',
      state: 'running',
      memory_mb: 2048,
      root_gb: 20,
    });

    // Disks with a source only (the empty CD-ROM has none), resource `<instance>-<device>`.
    const read = one('disk.device.read.bytes');
    expect(read).toMatchObject({ unit: 'B', type: 'cumulative', resourceId: `${running!.uuid}-vda` });
    expect(read.metadata).toMatchObject({ disk_name: 'vda', instance_id: running!.uuid });
    expect(read.volume).toBeGreaterThanOrEqual(blockBefore.get('rd_bytes')!);
    expect(read.volume).toBeLessThanOrEqual(blockAfter.get('rd_bytes')!);
    expect(one('disk.device.write.requests')).toMatchObject({ unit: 'request', type: 'cumulative' });
    const info = virsh('domblkinfo', running!.uuid, running!.disk);
    const physical = Number(/Physical:\s+(\d+)/.exec(info)![1]);
    expect(one('disk.device.usage')).toMatchObject({ unit: 'B', type: 'gauge', volume: physical });
    expect(one('disk.device.allocation').volume).toBe(Number(/Allocation:\s+(\d+)/.exec(info)![1]));
    expect(one('disk.device.capacity').volume).toBeGreaterThanOrEqual(physical);

    // No nwfilter on the interface: `<domain name>-<instance id>-<device>`.
    const incoming = one('network.incoming.bytes');
    expect(incoming).toMatchObject({
      unit: 'B',
      type: 'cumulative',
      resourceId: `${running!.domainName}-${running!.uuid}-${running!.vnic.name}`,
    });
    expect(incoming.metadata).toMatchObject({
      vnic_name: running!.vnic.name,
      mac: running!.vnic.mac,
      instance_id: running!.uuid,
    });
    expect(incoming.volume).toBeGreaterThanOrEqual(netBefore.get('rx_bytes')!);
    expect(incoming.volume).toBeLessThanOrEqual(netAfter.get('rx_bytes')!);
    expect(one('network.outgoing.packets.drop')).toMatchObject({ unit: 'packet', type: 'cumulative' });
    for (const meter of COMPUTE_METER_NAMES) expect(samples.get(meter)!.length, meter).toBeGreaterThan(0);
  });

  it('gives only power.state for a shut-off instance, and nothing for a foreign domain', async () => {
    const off = hypervisor.instances[1]!;
    const samples = await pollAll();
    for (const meter of COMPUTE_METER_NAMES) {
      const mine = samples.get(meter)!.filter((s) => s.resourceId.includes(off.uuid));
      if (meter === 'power.state') {
        expect(mine).toHaveLength(1);
        expect(mine[0]).toMatchObject({ volume: 4, metadata: { status: 'stopped', state: 'shutdown' } });
      } else expect(mine, meter).toEqual([]);
      expect(samples.get(meter)!.some((s) => s.resourceId.includes(hypervisor.foreignUuid))).toBe(false);
    }
  });

  it('reads libvirt with three virsh runs per cycle, whatever the number of meters', async () => {
    const started = Date.now();
    await pollAll();
    // Generous on a loaded 2-core machine; 22 meters × one virsh each would be several seconds.
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('fails a poll on an unreachable libvirt with a retriable code, and an optional discovery finds nothing', async () => {
    const absent = new LibvirtClient({ uri: 'test:///nonexistent/granary-node.xml' });
    const [cpu] = createComputePollsters({ client: absent, host: HOST });
    const failure = await cpu!.poll([hypervisor.instances[0]!.uuid], { cache: new Map() }).catch((e) => e);
    expect(pollingErrors.is(failure, 'POLLING_SOURCE_FAILED')).toBe(true);
    expect(failure.retriable).toBe(true);
    await expect(
      localInstancesDiscovery({ client: absent, host: HOST }).discover(undefined),
    ).rejects.toMatchObject({ code: 'POLLING_SOURCE_FAILED' });

    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line).msg) });
    const optional = localInstancesDiscovery({ client: absent, host: HOST, optional: true, logger });
    expect(await optional.discover(undefined)).toEqual([]);
    expect(await optional.discover(undefined)).toEqual([]);
    expect(lines).toEqual(['no libvirt answers: no instances to poll']);
  });

  it('is scheduled from polling.yaml; an unreachable libvirt is a counted discovery failure, not fatal', async () => {
    const run = async (uri: string) => {
      const metrics = createPollingMetrics(prometheusInstruments(createRegistry('poller')));
      const batches: PolledBatch[] = [];
      const compute = new LibvirtClient({ uri });
      const scheduler = new PollingScheduler(
        parsePollingConfig('sources: [{name: compute, interval: 300, meters: [cpu, "network.*"]}]'),
        {
          pollsters: createComputePollsters({ client: compute, host: HOST }),
          discoveries: [localInstancesDiscovery({ client: compute, host: HOST })],
          publish: async (batch) => {
            batches.push(batch);
          },
          metrics,
          logger: pino({ level: 'silent' }),
        },
      );
      await scheduler.pollNow(300);
      const errors = await metrics.errors.readings();
      return { batches, errors };
    };

    const healthy = await run(hypervisor.uri);
    expect(healthy.errors).toEqual([]);
    const polled = new Set(healthy.batches.flatMap((batch) => batch.samples.map((sample) => sample.name)));
    expect([...polled].sort()).toEqual(
      COMPUTE_METER_NAMES.filter((name) => name === 'cpu' || name.startsWith('network.')).sort(),
    );

    const absent = await run('test:///nonexistent/granary-node.xml');
    expect(absent.batches).toEqual([]);
    expect(absent.errors).toEqual([
      expect.objectContaining({
        value: 1,
        labels: { source: 'compute', pollster: 'discovery:local_instances', code: 'POLLING_SOURCE_FAILED' },
      }),
    ]);
  });
});
