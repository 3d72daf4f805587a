import { readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { CounterType } from '@granary/schema';
import { pollingErrors } from '../errors.ts';
import { type Discovery, type PollContext, type PolledSample, type Pollster, cachedRead } from '../model.ts';

/**
 * This machine's CPU, memory, load, disk and network read from /proc (and /sys, statfs), under
 * the meter names, units and types of Ceilometer's hardware SNMP meters, so a Gnocchi `host`,
 * `host_disk` and `host_network_interface` resource gets the same metrics either way. Per-device
 * meters use Ceilometer's resource ids `<host>.<device>`.
 *
 * Mapping to the UCD-SNMP values net-snmp serves on Linux: cpu.* are the `cpu` line of
 * /proc/stat in ticks (wait = iowait, kernel = system, interrupt = irq + softirq); memory.used is
 * MemTotal − MemAvailable; disk.*.bytes are sectors × 512; system_stats.io.* are pgpgin/pgpgout.
 * cpu.util and system_stats.cpu.idle are the user and idle shares of CPU time between two cycles.
 */
export interface HostPollsterOptions {
  procRoot?: string;
  sysRoot?: string;
}

interface HostSnapshot {
  loadavg: number[];
  cpuTicks: Record<string, number>;
  /** All CPU time of the `cpu` line (steal included), ticks. */
  cpuTotal: number;
  meminfo: Record<string, number>;
  ipCounters: Record<string, number>;
  vmstat: Record<string, number>;
  diskstats: Array<{
    device: string;
    readsCompleted: number;
    sectorsRead: number;
    writesCompleted: number;
    sectorsWritten: number;
  }>;
  interfaces: Array<{
    name: string;
    receivedBytes: number;
    sentBytes: number;
    sentErrors: number;
    mac: string;
    speed: number | null;
  }>;
  filesystems: Array<{ device: string; path: string; totalKB: number; usedKB: number }>;
}

interface HostMeter {
  name: string;
  unit: string;
  type: CounterType;
  measure(snapshot: HostSnapshot, host: string): PolledSample[];
}

const pseudoBlockDevice = /^(loop|ram|zram)\d/;

function keyedNumbers(text: string, pattern: RegExp): Record<string, number> {
  const values: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = pattern.exec(line);
    if (match) values[match[1]!] = Number(match[2]);
  }
  return values;
}

async function readSnapshot(procRoot: string, sysRoot: string): Promise<HostSnapshot> {
  const proc = (file: string) => readFile(join(procRoot, file), 'utf8');
  const [loadavg, stat, meminfo, snmp, vmstat, diskstats, netdev, mounts] = await Promise.all(
    ['loadavg', 'stat', 'meminfo', 'net/snmp', 'vmstat', 'diskstats', 'net/dev', 'mounts'].map(proc),
  );
  const cpuLine = stat!.split('\n').find((line) => line.startsWith('cpu '));
  if (!cpuLine) throw pollingErrors('POLLING_BAD_RESPONSE', `${procRoot}/stat has no cpu line`);
  const cpuFields = cpuLine.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = cpuFields;
  const ipLines = snmp!.split('\n').filter((line) => line.startsWith('Ip:'));
  const ipNames = ipLines[0]?.split(/\s+/).slice(1) ?? [];
  const ipValues = ipLines[1]?.split(/\s+/).slice(1).map(Number) ?? [];

  const interfaces = await Promise.all(
    netdev!
      .split('\n')
      .slice(2)
      .filter((line) => line.includes(':'))
      .map(async (line) => {
        const [namePart = '', counters = ''] = line.split(':');
        const fields = counters.trim().split(/\s+/).map(Number);
        const name = namePart.trim();
        const sys = (file: string) =>
          readFile(join(sysRoot, 'class/net', name, file), 'utf8').then((t) => t.trim());
        // Virtual interfaces have no speed (EINVAL or -1); that is "unknown", not an error.
        const speedMbps = await sys('speed').then(Number, () => -1);
        return {
          name,
          receivedBytes: fields[0]!,
          sentBytes: fields[8]!,
          sentErrors: fields[10]!,
          mac: await sys('address').then(
            (mac) => mac.replaceAll(':', ''),
            () => '',
          ),
          speed: speedMbps > 0 ? (speedMbps * 1_000_000) / 8 : null,
        };
      }),
  );

  const blockMounts = new Map<string, string>();
  for (const line of mounts!.split('\n')) {
    const [device, path] = line.split(' ');
    if (device?.startsWith('/dev/') && path && !blockMounts.has(device))
      blockMounts.set(device, path.replace(/\\040/g, ' '));
  }
  const filesystems = await Promise.all(
    [...blockMounts].map(async ([device, path]) => {
      const fs = await statfs(path);
      return {
        device: device.slice('/dev/'.length),
        path,
        totalKB: (fs.blocks * fs.bsize) / 1024,
        usedKB: ((fs.blocks - fs.bfree) * fs.bsize) / 1024,
      };
    }),
  );

  return {
    loadavg: loadavg!.trim().split(/\s+/).slice(0, 3).map(Number),
    cpuTicks: {
      user: user!,
      nice: nice!,
      system: system!,
      idle: idle!,
      wait: iowait!,
      kernel: system!,
      interrupt: irq! + softirq!,
    },
    cpuTotal: user! + nice! + system! + idle! + iowait! + irq! + softirq! + steal,
    meminfo: keyedNumbers(meminfo!, /^(\w+):\s+(\d+)/),
    ipCounters: Object.fromEntries(ipNames.map((name, i) => [name, ipValues[i]!])),
    vmstat: keyedNumbers(vmstat!, /^(\w+)\s+(\d+)/),
    diskstats: diskstats!
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields.length >= 10 && !pseudoBlockDevice.test(fields[2]!))
      .map((fields) => ({
        device: fields[2]!,
        readsCompleted: Number(fields[3]),
        sectorsRead: Number(fields[5]),
        writesCompleted: Number(fields[7]),
        sectorsWritten: Number(fields[9]),
      })),
    interfaces,
    filesystems,
  };
}

const hostSample = (
  meter: HostMeter,
  host: string,
  volume: number,
  device?: string,
  metadata: Record<string, unknown> = {},
): PolledSample => ({
  name: meter.name,
  type: meter.type,
  unit: meter.unit,
  volume,
  resourceId: device === undefined ? host : `${host}.${device}`,
  metadata: { resource_url: host, ...metadata },
  // As Ceilometer's hardware pollsters, whose meters these are.
  source: 'hardware',
});

function meter(name: string, unit: string, type: CounterType, value: (s: HostSnapshot) => number): HostMeter {
  const definition: HostMeter = {
    name,
    unit,
    type,
    measure: (snapshot, host) => [hostSample(definition, host, value(snapshot))],
  };
  return definition;
}

function memory(name: string, field: (m: Record<string, number>) => number | undefined): HostMeter {
  return meter(`hardware.memory.${name}`, 'KB', 'gauge', (s) => {
    const value = field(s.meminfo);
    if (value === undefined || Number.isNaN(value))
      throw pollingErrors('POLLING_BAD_RESPONSE', `meminfo lacks ${name}`);
    return value;
  });
}

function perDevice<T extends { device: string }>(
  name: string,
  unit: string,
  type: CounterType,
  rows: (s: HostSnapshot) => T[],
  value: (row: T) => number,
  metadata: (row: T) => Record<string, unknown> = (row) => ({ device: row.device }),
): HostMeter {
  const definition: HostMeter = {
    name,
    unit,
    type,
    measure: (snapshot, host) =>
      rows(snapshot).map((row) => hostSample(definition, host, value(row), row.device, metadata(row))),
  };
  return definition;
}

const interfaces = (s: HostSnapshot) => s.interfaces.map((i) => ({ ...i, device: i.name }));
const interfaceMetadata = (i: { name: string; speed: number | null; mac: string }) => ({
  name: i.name,
  speed: i.speed,
  mac: i.mac,
});

/**
 * Share of CPU time spent in `part` since the previous cycle, in whole percent as UCD-SNMP's
 * ssCpuUser (Ceilometer's hardware.cpu.util reads that OID) and ssCpuIdle give it. The first
 * cycle has nothing to compare with and gives no sample.
 */
function cpuPercent(name: string, part: 'user' | 'idle'): HostMeter {
  const previous = new Map<string, { part: number; total: number }>();
  const definition: HostMeter = {
    name,
    unit: '%',
    type: 'gauge',
    measure: (snapshot, host) => {
      const current = { part: snapshot.cpuTicks[part]!, total: snapshot.cpuTotal };
      const before = previous.get(host);
      previous.set(host, current);
      if (!before || current.total <= before.total) return [];
      const share = (current.part - before.part) / (current.total - before.total);
      return [hostSample(definition, host, Math.round(100 * share))];
    },
  };
  return definition;
}

/** Fresh definitions: the CPU percentages keep the previous cycle's ticks. */
const hostMeters = (): HostMeter[] => [
  ...(['1min', '5min', '15min'] as const).map((period, i) =>
    meter(`hardware.cpu.load.${period}`, 'process', 'gauge', (s) => s.loadavg[i]!),
  ),
  ...['user', 'nice', 'system', 'idle', 'wait', 'kernel', 'interrupt'].map((field) =>
    meter(`hardware.cpu.${field}`, 'tick', 'gauge', (s) => s.cpuTicks[field]!),
  ),
  cpuPercent('hardware.cpu.util', 'user'),
  cpuPercent('hardware.system_stats.cpu.idle', 'idle'),
  memory('total', (m) => m.MemTotal),
  memory('used', (m) => (m.MemTotal ?? Number.NaN) - (m.MemAvailable ?? Number.NaN)),
  memory('swap.total', (m) => m.SwapTotal),
  memory('swap.avail', (m) => m.SwapFree),
  memory('buffer', (m) => m.Buffers),
  memory('cached', (m) => m.Cached),
  perDevice(
    'hardware.disk.size.total',
    'KB',
    'gauge',
    (s) => s.filesystems,
    (f) => f.totalKB,
    (f) => ({ device: f.device, path: f.path }),
  ),
  perDevice(
    'hardware.disk.size.used',
    'KB',
    'gauge',
    (s) => s.filesystems,
    (f) => f.usedKB,
    (f) => ({ device: f.device, path: f.path }),
  ),
  perDevice(
    'hardware.disk.read.bytes',
    'B',
    'gauge',
    (s) => s.diskstats,
    (d) => d.sectorsRead * 512,
  ),
  perDevice(
    'hardware.disk.write.bytes',
    'B',
    'gauge',
    (s) => s.diskstats,
    (d) => d.sectorsWritten * 512,
  ),
  perDevice(
    'hardware.disk.read.requests',
    'requests',
    'gauge',
    (s) => s.diskstats,
    (d) => d.readsCompleted,
  ),
  perDevice(
    'hardware.disk.write.requests',
    'requests',
    'gauge',
    (s) => s.diskstats,
    (d) => d.writesCompleted,
  ),
  perDevice(
    'hardware.network.incoming.bytes',
    'B',
    'cumulative',
    interfaces,
    (i) => i.receivedBytes,
    interfaceMetadata,
  ),
  perDevice(
    'hardware.network.outgoing.bytes',
    'B',
    'cumulative',
    interfaces,
    (i) => i.sentBytes,
    interfaceMetadata,
  ),
  perDevice(
    'hardware.network.outgoing.errors',
    'packet',
    'cumulative',
    interfaces,
    (i) => i.sentErrors,
    interfaceMetadata,
  ),
  meter(
    'hardware.network.ip.outgoing.datagrams',
    'datagrams',
    'cumulative',
    (s) => s.ipCounters.OutRequests!,
  ),
  meter('hardware.network.ip.incoming.datagrams', 'datagrams', 'cumulative', (s) => s.ipCounters.InReceives!),
  meter('hardware.system_stats.io.outgoing.blocks', 'blocks', 'cumulative', (s) => s.vmstat.pgpgout!),
  meter('hardware.system_stats.io.incoming.blocks', 'blocks', 'cumulative', (s) => s.vmstat.pgpgin!),
];

/** The `local_node` discovery: this machine, by host name. */
export function localNodeDiscovery(hostname: string): Discovery {
  return { name: 'local_node', shared: false, discover: async () => [hostname] };
}

/** One pollster per host meter; they share one /proc snapshot per cycle. */
export function createHostPollsters(options: HostPollsterOptions = {}): Pollster[] {
  const procRoot = options.procRoot ?? '/proc';
  const sysRoot = options.sysRoot ?? '/sys';
  return hostMeters().map((definition) => ({
    name: definition.name,
    // Host names, as the local_node discovery gives; URLs belong to the SNMP and HTTP pollsters.
    handles: (resource: string) => !resource.includes('://'),
    defaultDiscovery: 'local_node',
    async poll(resources: readonly string[], context: PollContext): Promise<PolledSample[]> {
      const snapshot = await cachedRead(context, `host:${procRoot}`, () => readSnapshot(procRoot, sysRoot));
      return resources.flatMap((host) => definition.measure(snapshot, host));
    },
  }));
}

export const HOST_METER_NAMES: readonly string[] = hostMeters().map((m) => m.name);
