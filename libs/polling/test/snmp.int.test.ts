import { readFileSync } from 'node:fs';
import { type Snmpd, startSnmpd } from '@granary/testing/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_SNMP_DEFINITIONS,
  type PolledSample,
  type Pollster,
  createSnmpPollsters,
  defaultSnmpDefinitions,
  parseSnmpDefinitions,
  pollingErrors,
} from '../index.ts';

/** snmpget's value text as a number: `"12.73"` (load, a string in UCD-SNMP) or `24684084`. */
const numeric = (text: string) => Number(text.replaceAll('"', ''));

// The real thing: Debian's snmpd serving this machine, and net-snmp's own snmpget/snmpwalk read
// just before and just after the poll; a value must lie within how far the agent's values moved.
describe('SNMP pollsters against a real snmpd', () => {
  let snmpd: Snmpd;
  let pollsters: Pollster[];
  let v2c: string;
  let v3: string;

  beforeAll(async () => {
    snmpd = await startSnmpd();
    pollsters = createSnmpPollsters(defaultSnmpDefinitions(), { timeoutMs: 2000 });
    v2c = `snmp://${snmpd.community}@${snmpd.host}:${snmpd.port}`;
    const { name, authKey, privKey } = snmpd.v3;
    v3 = `snmp://${name}:${authKey}@${snmpd.host}:${snmpd.port}?auth_proto=sha&priv_proto=aes128&priv_password=${privKey}`;
  });
  afterAll(async () => {
    await snmpd?.stop();
  });

  async function pollAll(resource: string, names: string[]): Promise<PolledSample[]> {
    const context = { cache: new Map() };
    const samples: PolledSample[] = [];
    for (const pollster of pollsters.filter((p) => names.includes(p.name))) {
      samples.push(...(await pollster.poll([resource], context)));
    }
    return samples;
  }

  const EXACT: Array<[string, string]> = [
    ['hardware.cpu.load.1min', '1.3.6.1.4.1.2021.10.1.3.1'],
    ['hardware.cpu.load.5min', '1.3.6.1.4.1.2021.10.1.3.2'],
    ['hardware.cpu.load.15min', '1.3.6.1.4.1.2021.10.1.3.3'],
    ['hardware.cpu.user', '1.3.6.1.4.1.2021.11.50.0'],
    ['hardware.cpu.idle', '1.3.6.1.4.1.2021.11.53.0'],
    ['hardware.memory.total', '1.3.6.1.4.1.2021.4.5.0'],
    ['hardware.memory.buffer', '1.3.6.1.4.1.2021.4.14.0'],
    ['hardware.memory.swap.total', '1.3.6.1.4.1.2021.4.3.0'],
    ['hardware.network.ip.incoming.datagrams', '1.3.6.1.2.1.4.3.0'],
    ['hardware.network.ip.outgoing.datagrams', '1.3.6.1.2.1.4.10.0'],
  ];
  const MEMORY_AVAIL = '1.3.6.1.4.1.2021.4.6.0';

  for (const [label, resource] of [
    ['v2c community', () => v2c],
    ['v3 USM (SHA, AES-128)', () => v3],
  ] as const) {
    it(`reads the GET meters as snmpget does, over ${label}`, async () => {
      const oids = [...EXACT.map(([, oid]) => oid), MEMORY_AVAIL];
      const before = snmpd.get(oids).map(numeric);
      const samples = await pollAll(resource(), [...EXACT.map(([name]) => name), 'hardware.memory.used']);
      const after = snmpd.get(oids).map(numeric);
      EXACT.forEach(([name], i) => {
        const sample = samples.find((s) => s.name === name);
        expect(sample, name).toMatchObject({
          resourceId: snmpd.host,
          metadata: { resource_url: `snmp://${snmpd.host}:${snmpd.port}` },
        });
        expect(sample!.volume, name).toBeGreaterThanOrEqual(Math.min(before[i]!, after[i]!));
        expect(sample!.volume, name).toBeLessThanOrEqual(Math.max(before[i]!, after[i]!));
      });
      // memory.used is Ceilometer's post-op: memTotalReal − memAvailReal, which moves both ways.
      const total = before[EXACT.findIndex(([name]) => name === 'hardware.memory.total')]!;
      const used = samples.find((s) => s.name === 'hardware.memory.used')!;
      const usedBefore = total - before.at(-1)!;
      const usedAfter = total - after.at(-1)!;
      const slack = 0.02 * total;
      expect(used.volume).toBeGreaterThanOrEqual(Math.min(usedBefore, usedAfter) - slack);
      expect(used.volume).toBeLessThanOrEqual(Math.max(usedBefore, usedAfter) + slack);
      expect(samples.find((s) => s.name === 'hardware.cpu.load.1min')).toMatchObject({
        unit: 'process',
        type: 'gauge',
      });
      expect(samples.find((s) => s.name === 'hardware.network.ip.incoming.datagrams')).toMatchObject({
        type: 'cumulative',
      });
    });
  }

  it('walks the table meters with their per-index metadata and Ceilometer resource ids', async () => {
    const inBefore = snmpd.walk('1.3.6.1.2.1.2.2.1.10');
    const samples = await pollAll(v2c, [
      'hardware.network.incoming.bytes',
      'hardware.disk.size.total',
      'hardware.disk.read.bytes',
    ]);
    const inAfter = snmpd.walk('1.3.6.1.2.1.2.2.1.10');
    const names = snmpd.walk('1.3.6.1.2.1.2.2.1.2');
    const macs = snmpd.walk('1.3.6.1.2.1.2.2.1.6');
    const speeds = snmpd.walk('1.3.6.1.2.1.2.2.1.5');
    const addresses = snmpd.walk('1.3.6.1.2.1.4.20.1.2');
    const incoming = samples.filter((s) => s.name === 'hardware.network.incoming.bytes');
    expect(incoming).toHaveLength(names.size);
    for (const [index, quotedName] of names) {
      const name = quotedName.replaceAll('"', '');
      const sample = incoming.find((s) => s.resourceId === `${snmpd.host}.${name}`);
      expect(sample, name).toBeDefined();
      expect(sample!.volume).toBeGreaterThanOrEqual(numeric(inBefore.get(index)!));
      expect(sample!.volume).toBeLessThanOrEqual(numeric(inAfter.get(index)!));
      const mac = macs.get(index)!.replaceAll('"', '').replaceAll(' ', '').toLowerCase();
      const ip = [...addresses].find(([, ifIndex]) => ifIndex === index)?.[0] ?? null;
      expect(sample!.metadata).toEqual({
        resource_url: `snmp://${snmpd.host}:${snmpd.port}`,
        name,
        speed: numeric(speeds.get(index)!) / 8,
        mac: mac === '' ? '' : mac,
        ip,
      });
      expect(sample!.type).toBe('cumulative');
    }
    const sizes = snmpd.walk('1.3.6.1.4.1.2021.9.1.6');
    const devices = snmpd.walk('1.3.6.1.4.1.2021.9.1.3');
    const paths = snmpd.walk('1.3.6.1.4.1.2021.9.1.2');
    const disks = samples.filter((s) => s.name === 'hardware.disk.size.total');
    expect(disks).toHaveLength(sizes.size);
    for (const [index, size] of sizes) {
      // Several tmpfs share the device name, hence the resource id (as in Ceilometer); the path tells them apart.
      const device = devices.get(index)!.replaceAll('"', '');
      const path = paths.get(index)!.replaceAll('"', '');
      const disk = disks.find((s) => s.metadata?.path === path);
      expect(disk, path).toMatchObject({
        resourceId: `${snmpd.host}.${device}`,
        volume: numeric(size),
        metadata: { device },
      });
    }
    // The yoga file merges the disk I/O metadata into snmp_inspector; the device still names the resource.
    const ioDevices = [...snmpd.walk('1.3.6.1.4.1.2021.13.15.1.1.2').values()].map((d) =>
      d.replaceAll('"', ''),
    );
    const reads = samples.filter((s) => s.name === 'hardware.disk.read.bytes');
    expect(reads.map((s) => s.resourceId).sort()).toEqual(ioDevices.map((d) => `${snmpd.host}.${d}`).sort());
    expect(reads[0]!.metadata).toMatchObject({
      device: ioDevices.find((d) => reads[0]!.resourceId.endsWith(d)),
    });
  });

  it('fails a run with a coded error on wrong credentials and on a dead agent', async () => {
    const [memory] = pollsters.filter((p) => p.name === 'hardware.memory.total');
    const wrongKey = v3.replace(snmpd.v3.authKey, 'not-the-auth-key');
    await expect(memory!.poll([wrongKey], { cache: new Map() })).rejects.toSatisfy((e) =>
      pollingErrors.is(e, 'POLLING_SOURCE_FAILED'),
    );
    const fast = createSnmpPollsters(
      defaultSnmpDefinitions().filter((d) => d.name === 'hardware.memory.total'),
      {
        timeoutMs: 200,
        retries: 0,
      },
    );
    await expect(fast[0]!.poll(['snmp://public@127.0.0.1:9'], { cache: new Map() })).rejects.toSatisfy((e) =>
      pollingErrors.is(e, 'POLLING_SOURCE_FAILED'),
    );
    await expect(
      memory!.poll([`${v2c}?priv_proto=3des&priv_password=x`], { cache: new Map() }),
    ).rejects.toSatisfy((e) => pollingErrors.is(e, 'POLLING_PERMANENT_FAILURE'));
  });
});

describe('SNMP definitions', () => {
  it("parses Ceilometer's yoga hardware definitions shipped with Granary", () => {
    const definitions = parseSnmpDefinitions(readFileSync(DEFAULT_SNMP_DEFINITIONS, 'utf8'));
    const names = definitions.map((d) => d.name);
    const hostMeters = readFileSync(
      '/work/shared/reference/ceilometer-data/gnocchi_resources.mitaka-list-format.yaml',
      'utf8',
    )
      .split('\n')
      .map((line) => /'(hardware\.[a-z_.0-9]+)'/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined && !name.startsWith('hardware.ipmi'));
    for (const meter of hostMeters) expect(names).toContain(meter);
    expect(
      definitions.find((d) => d.name === 'hardware.network.incoming.bytes')?.metadata.map((m) => m.name),
    ).toEqual(['name', 'speed', 'mac']);
    expect(definitions.find((d) => d.name === 'hardware.memory.used')?.postOp).toBe(
      '_post_op_memory_avail_to_used',
    );
  });
});
