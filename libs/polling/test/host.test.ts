import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOST_METER_NAMES, type PolledSample, createHostPollsters } from '../index.ts';

// The real thing: this machine's /proc, read here independently of the pollster's parser, just
// before and just after the poll, so a value must lie within how far the counters moved meanwhile.
function procValues(): Map<string, number> {
  const values = new Map<string, number>();
  const [one, five, fifteen] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  values.set('hardware.cpu.load.1min', one!);
  values.set('hardware.cpu.load.5min', five!);
  values.set('hardware.cpu.load.15min', fifteen!);
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  values.set('hardware.cpu.user', cpu[0]!);
  values.set('hardware.cpu.idle', cpu[3]!);
  values.set('hardware.cpu.interrupt', cpu[5]! + cpu[6]!);
  const meminfo = Object.fromEntries(
    readFileSync('/proc/meminfo', 'utf8')
      .trim()
      .split('\n')
      .map((line) => [line.split(':')[0], Number.parseInt(line.split(':')[1]!, 10)]),
  );
  values.set('hardware.memory.total', meminfo.MemTotal);
  values.set('hardware.memory.used', meminfo.MemTotal - meminfo.MemAvailable);
  values.set('hardware.memory.swap.total', meminfo.SwapTotal);
  values.set('hardware.memory.cached', meminfo.Cached);
  for (const line of readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2)) {
    if (!line.includes(':')) continue;
    const [name, rest] = line.split(':');
    const fields = rest!.trim().split(/\s+/).map(Number);
    values.set(`hardware.network.incoming.bytes/${name!.trim()}`, fields[0]!);
    values.set(`hardware.network.outgoing.bytes/${name!.trim()}`, fields[8]!);
  }
  const ip = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Ip:'));
  const ipNames = ip[0]!.split(/\s+/);
  const ipValues = ip[1]!.split(/\s+/);
  values.set('hardware.network.ip.incoming.datagrams', Number(ipValues[ipNames.indexOf('InReceives')]));
  return values;
}

describe('host pollsters against this machine', () => {
  it('report /proc values as Ceilometer hardware meters, within the motion of the counters', async () => {
    const host = hostname();
    const pollsters = createHostPollsters();
    expect(pollsters.map((p) => p.name)).toEqual(HOST_METER_NAMES);
    const context = { cache: new Map() };
    const before = procValues();
    const samples: PolledSample[] = [];
    for (const pollster of pollsters) samples.push(...(await pollster.poll([host], context)));
    const after = procValues();

    const sampleOf = (name: string, resourceId = host) => {
      const found = samples.find((s) => s.name === name && s.resourceId === resourceId);
      expect(found, `${name} for ${resourceId}`).toBeDefined();
      return found!;
    };
    // Monotonic counters: between the two readings. Gauges that move both ways (memory in use,
    // load averages): between the two readings, widened by the distance they moved apart.
    const within = (name: string, key = name, resourceId = host) => {
      const low = Math.min(before.get(key)!, after.get(key)!);
      const high = Math.max(before.get(key)!, after.get(key)!);
      const slack =
        name === 'hardware.memory.used' || name === 'hardware.memory.cached'
          ? 0.02 * before.get('hardware.memory.total')!
          : 0;
      const { volume } = sampleOf(name, resourceId);
      expect(volume, name).toBeGreaterThanOrEqual(low - slack);
      expect(volume, name).toBeLessThanOrEqual(high + slack);
    };
    for (const name of [
      'hardware.cpu.load.1min',
      'hardware.cpu.load.5min',
      'hardware.cpu.load.15min',
      'hardware.cpu.user',
      'hardware.cpu.idle',
      'hardware.cpu.interrupt',
      'hardware.memory.total',
      'hardware.memory.used',
      'hardware.memory.swap.total',
      'hardware.memory.cached',
      'hardware.network.ip.incoming.datagrams',
    ]) {
      within(name);
    }
    within('hardware.network.incoming.bytes', 'hardware.network.incoming.bytes/lo', `${host}.lo`);
    within('hardware.network.outgoing.bytes', 'hardware.network.outgoing.bytes/lo', `${host}.lo`);

    expect(sampleOf('hardware.cpu.load.1min')).toMatchObject({
      unit: 'process',
      type: 'gauge',
      metadata: { resource_url: host },
    });
    expect(sampleOf('hardware.memory.used')).toMatchObject({ unit: 'KB', type: 'gauge' });
    expect(sampleOf('hardware.network.incoming.bytes', `${host}.lo`)).toMatchObject({
      unit: 'B',
      type: 'cumulative',
      metadata: { name: 'lo', mac: '000000000000', speed: null },
    });
  });

  it('report the root filesystem size as df does', async () => {
    const host = hostname();
    const [pollster] = createHostPollsters().filter((p) => p.name === 'hardware.disk.size.total');
    const samples = await pollster!.poll([host], { cache: new Map() });
    const [, line] = execFileSync('df', ['-k', '--output=source,size', '/'], { encoding: 'utf8' })
      .trim()
      .split('\n');
    const [source, sizeKB] = line!.trim().split(/\s+/);
    const root = samples.find((s) => s.resourceId === `${host}.${source!.replace('/dev/', '')}`);
    expect(root?.volume).toBe(Number(sizeKB));
    expect(root?.metadata).toMatchObject({ path: '/' });
  });

  it('read one snapshot per cycle for all host meters', async () => {
    const context = { cache: new Map<string, Promise<unknown>>() };
    for (const pollster of createHostPollsters()) await pollster.poll(['h'], context);
    expect([...context.cache.keys()]).toEqual(['host:/proc']);
  });
});

describe('host CPU percentages', () => {
  it('give the user and idle shares of CPU time between two cycles, nothing on the first', async () => {
    // A copy of this machine's /proc whose stat file the test controls.
    const procRoot = mkdtempSync(join(tmpdir(), 'granary-proc-'));
    for (const file of ['loadavg', 'meminfo', 'vmstat', 'diskstats', 'mounts']) {
      writeFileSync(join(procRoot, file), readFileSync(`/proc/${file}`));
    }
    mkdirSync(join(procRoot, 'net'));
    for (const file of ['net/snmp', 'net/dev'])
      writeFileSync(join(procRoot, file), readFileSync(`/proc/${file}`));
    // user nice system idle iowait irq softirq steal
    const stat = (ticks: number[]) =>
      writeFileSync(join(procRoot, 'stat'), `cpu  ${ticks.join(' ')} 0 0\ncpu0 0\n`);
    const pollsters = createHostPollsters({ procRoot }).filter((p) =>
      ['hardware.cpu.util', 'hardware.system_stats.cpu.idle'].includes(p.name),
    );
    const poll = async () => {
      const context = { cache: new Map() };
      return (await Promise.all(pollsters.map((p) => p.poll(['h'], context)))).flat();
    };
    stat([100, 0, 50, 800, 10, 5, 5, 30]);
    expect(await poll()).toEqual([]);
    // +300 user, +100 system, +580 idle, +20 iowait over 1000 ticks.
    stat([400, 0, 150, 1380, 30, 5, 5, 30]);
    const samples = await poll();
    expect(samples).toEqual([
      {
        name: 'hardware.cpu.util',
        type: 'gauge',
        unit: '%',
        volume: 30,
        resourceId: 'h',
        metadata: { resource_url: 'h' },
        source: 'hardware',
      },
      {
        name: 'hardware.system_stats.cpu.idle',
        type: 'gauge',
        unit: '%',
        volume: 58,
        resourceId: 'h',
        metadata: { resource_url: 'h' },
        source: 'hardware',
      },
    ]);
  });
});
