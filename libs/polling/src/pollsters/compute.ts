import { createHash } from 'node:crypto';
import type { Logger } from '@granary/observability';
import type { CounterType } from '@granary/schema';
import {
  type DomainDescription,
  type DomainInterface,
  type LibvirtClient,
  type NovaMetadata,
  parseBlockInfo,
  parseCpuTimeNs,
  parseDomainXml,
  parseRawDomainStats,
  parseStatLines,
} from '../libvirt.ts';
import { type Discovery, type PollContext, type PolledSample, type Pollster, cachedRead } from '../model.ts';

/**
 * Ceilometer's compute pollsters (`ceilometer.poll.compute`) on libvirt, with the
 * `libvirt_metadata` instance discovery: the local domains carrying nova's metadata are the
 * instances (id = domain uuid); the others are ignored. Samples carry Ceilometer's instance
 * metadata (`compute/pollsters/util.py`) so the Gnocchi publisher fills the `instance`,
 * `instance_disk` and `instance_network_interface` resources.
 */

/** libvirt's virDomainState → nova's vm_state, and → the API status (Ceilometer's libvirt_utils). */
const VM_STATE = ['pending', 'running', 'running', 'paused', 'shutdown', 'shutdown', 'crashed', 'suspended'];
const STATUS = ['building', 'active', 'active', 'paused', 'stopped', 'stopped', 'error', 'suspended'];
/** virDomainState → nova's power_state (nova/virt/libvirt: shutdown and shutoff are both SHUTDOWN). */
const POWER_STATE = [0, 1, 1, 3, 4, 4, 6, 7];
const SHUT_OFF = 5;

/** One instance as read in a cycle: its domain, state and instance-level counters. */
export interface InstanceReading {
  domain: DomainDescription & { nova: NovaMetadata };
  /** virDomainState; null when libvirt did not say. */
  state: number | null;
  cpuTimeNs: number | null;
  memory: Map<string, number>;
  disks: Map<string, { stats: Map<string, number>; info: Map<string, number> }>;
  interfaces: Map<string, Map<string, number>>;
}

export interface ComputeOptions {
  client: LibvirtClient;
  /** This compute node's name (Ceilometer's `[DEFAULT]host`). */
  host: string;
}

/** The nova domains among `uuids`, with their state, CPU time and memory statistics. */
async function readInstances(client: LibvirtClient, uuids: readonly string[]): Promise<InstanceReading[]> {
  if (uuids.length === 0) return [];
  const { outputs } = await client.batch(
    uuids.flatMap((uuid) => [
      ['dumpxml', uuid],
      ['domstats', '--raw', '--state', '--cpu-total', '--vcpu', uuid],
      ['cpu-stats', uuid, '--total'],
      ['dommemstat', uuid],
    ]),
  );
  const readings: InstanceReading[] = [];
  uuids.forEach((_, index) => {
    const [xml, stats, cpu, memory] = outputs.slice(index * 4, index * 4 + 4) as [
      string,
      string,
      string,
      string,
    ];
    // A domain undefined between the listing and this read has no XML: not an instance any more.
    if (!xml.trim()) return;
    const domain = parseDomainXml(xml);
    if (!domain.nova) return;
    const raw = parseRawDomainStats(stats);
    const state = Number(raw.get('state.state') ?? Number.NaN);
    readings.push({
      domain: domain as InstanceReading['domain'],
      state: Number.isInteger(state) && state >= 0 && state < VM_STATE.length ? state : null,
      cpuTimeNs: domainCpuTimeNs(raw) ?? parseCpuTimeNs(cpu),
      memory: parseStatLines(memory),
      disks: new Map(),
      interfaces: new Map(),
    });
  });
  return readings;
}

/**
 * Ceilometer's CPU time from `domstats`: the sum of every vCPU's `time + wait` when all the
 * current vCPUs report both, else the domain's `cpu.time`. Null when `domstats` has neither
 * (libvirt's test driver implements only its state group): `cpu-stats --total` is read then.
 */
export function domainCpuTimeNs(stats: ReadonlyMap<string, string>): number | null {
  const count = (key: string) => {
    const value = stats.get(key);
    return value !== undefined && /^\d{1,19}$/.test(value) ? Number(value) : undefined;
  };
  const current = count('vcpu.current');
  if (current !== undefined) {
    let total = 0;
    let reporting = 0;
    for (let vcpu = 0; vcpu < Math.min(count('vcpu.maximum') ?? 0, 4096); vcpu++) {
      const time = count(`vcpu.${vcpu}.time`);
      const wait = count(`vcpu.${vcpu}.wait`);
      if (time === undefined || wait === undefined) continue;
      total += time + wait;
      reporting++;
    }
    if (reporting === current && current > 0) return total;
  }
  return count('cpu.time') ?? null;
}

/** Block and interface counters of the instances that are not shut off, in one more virsh call. */
async function readDevices(client: LibvirtClient, readings: InstanceReading[]): Promise<void> {
  const commands: string[][] = [];
  const store: Array<(outputs: string[]) => void> = [];
  for (const reading of readings.filter((candidate) => candidate.state !== SHUT_OFF)) {
    const { uuid } = reading.domain;
    for (const { device } of reading.domain.disks) {
      const at = commands.push(['domblkstat', uuid, device], ['domblkinfo', uuid, device]) - 2;
      store.push((outputs) =>
        reading.disks.set(device, {
          stats: parseStatLines(outputs[at]!),
          info: parseBlockInfo(outputs[at + 1]!),
        }),
      );
    }
    for (const { name } of reading.domain.interfaces) {
      const at = commands.push(['domifstat', uuid, name]) - 1;
      store.push((outputs) => reading.interfaces.set(name, parseStatLines(outputs[at]!)));
    }
  }
  if (commands.length === 0) return;
  const { outputs } = await client.batch(commands);
  for (const apply of store) apply(outputs);
}

/** Everything the compute pollsters need this cycle, read once and shared through the cycle cache. */
export function readCompute(context: PollContext, client: LibvirtClient): Promise<InstanceReading[]> {
  return cachedRead(context, `libvirt:${client.uri}`, async () => {
    const readings = await readInstances(client, await client.listDomainUuids());
    await readDevices(client, readings);
    return readings;
  });
}

/**
 * Ceilometer's `_get_metadata_from_object` for the NovaLikeServer its libvirt_metadata discovery
 * builds: what nova's metadata, the domain and this host tell (no Nova API call; fields only
 * notifications know — availability zone, task state, user metadata — are absent or empty).
 */
export function instanceMetadata(reading: InstanceReading, host: string): Record<string, unknown> {
  const { domain, state } = reading;
  const { nova } = domain;
  const flavor = nova.flavor;
  return {
    display_name: nova.name,
    name: domain.name,
    instance_id: domain.uuid,
    instance_type: flavor.name,
    // Nova's hostId: sha224(project id + host), as the API shows it.
    host: createHash('sha224')
      .update(nova.projectId + host)
      .digest('hex'),
    instance_host: host,
    flavor: { ...flavor },
    status: state === null ? null : STATUS[state],
    state: state === null ? null : VM_STATE[state],
    task_state: '',
    image: nova.imageId === null ? null : { id: nova.imageId },
    image_ref: nova.imageId,
    image_ref_url: null,
    os_type: domain.osType,
    architecture: domain.architecture,
    vcpus: flavor.vcpus,
    memory_mb: flavor.ram,
    disk_gb: flavor.disk,
    ephemeral_gb: flavor.ephemeral,
    root_gb: flavor.disk === null || flavor.ephemeral === null ? null : flavor.disk - flavor.ephemeral,
  };
}

interface ComputeMeter {
  name: string;
  unit: string;
  type: CounterType;
  /** Samples of one instance; none when libvirt did not give the value (Ceilometer's NoDataException). */
  measure(reading: InstanceReading, metadata: Record<string, unknown>): PolledSample[];
}

const KIB_PER_MIB = 1024;

function instanceMeter(
  name: string,
  unit: string,
  type: CounterType,
  value: (reading: InstanceReading) => number | null,
  extra: (reading: InstanceReading) => Record<string, unknown> = () => ({}),
  whenShutOff = false,
): ComputeMeter {
  return {
    name,
    unit,
    type,
    measure(reading, metadata) {
      if (reading.state === SHUT_OFF && !whenShutOff) return [];
      const volume = value(reading);
      if (volume === null || !Number.isFinite(volume)) return [];
      return [
        {
          name,
          unit,
          type,
          volume,
          resourceId: reading.domain.uuid,
          userId: reading.domain.nova.userId,
          projectId: reading.domain.nova.projectId,
          metadata: { ...metadata, ...extra(reading) },
        },
      ];
    },
  };
}

function memoryMiB(reading: InstanceReading, key: string): number | null {
  const kib = reading.memory.get(key);
  return kib === undefined ? null : kib / KIB_PER_MIB;
}

/** Ceilometer: available − usable when the guest reports usable, else available − unused. */
function memoryUsage(reading: InstanceReading): number | null {
  const available = reading.memory.get('available');
  const free = reading.memory.get('usable') ?? reading.memory.get('unused');
  return available === undefined || free === undefined ? null : (available - free) / KIB_PER_MIB;
}

function diskMeter(
  name: string,
  unit: string,
  type: CounterType,
  value: (disk: { stats: Map<string, number>; info: Map<string, number> }) => number | undefined,
): ComputeMeter {
  return {
    name,
    unit,
    type,
    measure(reading, metadata) {
      return [...reading.disks].flatMap(([device, disk]) => {
        const volume = value(disk);
        if (volume === undefined) return [];
        return [
          {
            name,
            unit,
            type,
            volume,
            resourceId: `${reading.domain.uuid}-${device}`,
            userId: reading.domain.nova.userId,
            projectId: reading.domain.nova.projectId,
            metadata: { ...metadata, disk_name: device },
          },
        ];
      });
    },
  };
}

/**
 * Ceilometer's vNIC resource id: nova's filter name when the interface has one, else
 * `<domain name>-<instance id>-<device>`.
 */
export function vnicResourceId(domain: DomainDescription, vnic: DomainInterface): string {
  return vnic.filter ?? `${domain.name}-${domain.uuid}-${vnic.name}`;
}

function networkMeter(name: string, unit: string, key: string): ComputeMeter {
  return {
    name,
    unit,
    type: 'cumulative',
    measure(reading, metadata) {
      return reading.domain.interfaces.flatMap((vnic) => {
        const volume = reading.interfaces.get(vnic.name)?.get(key);
        if (volume === undefined) return [];
        return [
          {
            name,
            unit,
            type: 'cumulative' as const,
            volume,
            resourceId: vnicResourceId(reading.domain, vnic),
            userId: reading.domain.nova.userId,
            projectId: reading.domain.nova.projectId,
            metadata: {
              ...metadata,
              vnic_name: vnic.name,
              mac: vnic.mac,
              fref: vnic.filter,
              parameters: vnic.parameters,
            },
          },
        ];
      });
    },
  };
}

const COMPUTE_METERS: ComputeMeter[] = [
  instanceMeter(
    'cpu',
    'ns',
    'cumulative',
    (reading) => reading.cpuTimeNs,
    (reading) => ({ cpu_number: reading.domain.vcpus }),
  ),
  instanceMeter('vcpus', 'vcpu', 'gauge', (reading) => reading.domain.vcpus),
  instanceMeter('memory.usage', 'MiB', 'gauge', memoryUsage),
  instanceMeter('memory.resident', 'MiB', 'gauge', (reading) => memoryMiB(reading, 'rss')),
  instanceMeter('memory.swap.in', 'MiB', 'cumulative', (reading) => memoryMiB(reading, 'swap_in')),
  instanceMeter('memory.swap.out', 'MiB', 'cumulative', (reading) => memoryMiB(reading, 'swap_out')),
  instanceMeter(
    'power.state',
    '',
    'gauge',
    (reading) => (reading.state === null ? null : POWER_STATE[reading.state]!),
    () => ({}),
    true,
  ),
  diskMeter('disk.device.read.bytes', 'B', 'cumulative', (disk) => disk.stats.get('rd_bytes')),
  diskMeter('disk.device.read.requests', 'request', 'cumulative', (disk) => disk.stats.get('rd_req')),
  diskMeter('disk.device.write.bytes', 'B', 'cumulative', (disk) => disk.stats.get('wr_bytes')),
  diskMeter('disk.device.write.requests', 'request', 'cumulative', (disk) => disk.stats.get('wr_req')),
  // A CD-ROM's capacity can read below its physical size (libvirt aligns it to 4 KiB): the larger.
  diskMeter('disk.device.capacity', 'B', 'gauge', (disk) => {
    const capacity = disk.info.get('capacity');
    const physical = disk.info.get('physical');
    return capacity === undefined ? undefined : Math.max(capacity, physical ?? 0);
  }),
  diskMeter('disk.device.allocation', 'B', 'gauge', (disk) => disk.info.get('allocation')),
  diskMeter('disk.device.usage', 'B', 'gauge', (disk) => disk.info.get('physical')),
  networkMeter('network.incoming.bytes', 'B', 'rx_bytes'),
  networkMeter('network.incoming.packets', 'packet', 'rx_packets'),
  networkMeter('network.incoming.packets.drop', 'packet', 'rx_drop'),
  networkMeter('network.incoming.packets.error', 'packet', 'rx_errs'),
  networkMeter('network.outgoing.bytes', 'B', 'tx_bytes'),
  networkMeter('network.outgoing.packets', 'packet', 'tx_packets'),
  networkMeter('network.outgoing.packets.drop', 'packet', 'tx_drop'),
  networkMeter('network.outgoing.packets.error', 'packet', 'tx_errs'),
];

export const COMPUTE_METER_NAMES = COMPUTE_METERS.map((meter) => meter.name);

/** Samples of every compute meter from one cycle's readings (pure; the pollsters filter by name). */
export function computeSamples(
  meter: string,
  readings: readonly InstanceReading[],
  resources: ReadonlySet<string>,
  host: string,
): PolledSample[] {
  const definition = COMPUTE_METERS.find((candidate) => candidate.name === meter);
  if (!definition) return [];
  return readings
    .filter((reading) => resources.has(reading.domain.uuid))
    .flatMap((reading) => definition.measure(reading, instanceMetadata(reading, host)));
}

/**
 * `local_instances`: the uuids of this node's nova instances. With `optional`, a libvirt that
 * does not answer finds nothing (logged once at info level each time it stops answering) instead
 * of failing the discovery: for development setups where there may be no hypervisor at all.
 */
export function localInstancesDiscovery(
  options: ComputeOptions & { optional?: boolean; logger?: Logger },
): Discovery {
  let answering = true;
  return {
    name: 'local_instances',
    shared: false,
    async discover() {
      try {
        const uuids = await options.client.listDomainUuids();
        const readings = await readInstances(options.client, uuids);
        if (!answering) options.logger?.info({ uri: options.client.uri }, 'libvirt answers again');
        answering = true;
        return readings.map((reading) => reading.domain.uuid);
      } catch (error) {
        if (!options.optional) throw error;
        if (answering)
          options.logger?.info(
            { uri: options.client.uri, reason: (error as Error).message },
            'no libvirt answers: no instances to poll',
          );
        answering = false;
        return [];
      }
    },
  };
}

/** One pollster per compute meter; resources are instance uuids from `local_instances`. */
export function createComputePollsters(options: ComputeOptions): Pollster[] {
  return COMPUTE_METER_NAMES.map((name) => ({
    name,
    handles: (resource: string) =>
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(resource),
    defaultDiscovery: 'local_instances',
    async poll(resources, context) {
      const readings = await readCompute(context, options.client);
      return computeSamples(name, readings, new Set(resources), options.host);
    },
  }));
}
