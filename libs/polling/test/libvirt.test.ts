import { describe, expect, it } from 'vitest';
import {
  type InstanceReading,
  NOVA_METADATA_NAMESPACE,
  computeSamples,
  domainCpuTimeNs,
  parseBlockInfo,
  parseCpuTimeNs,
  parseDomainXml,
  parseStatLines,
  pollingErrors,
  vnicResourceId,
} from '../index.ts';

const UUID = '6f0a4c1e-2b3d-4e5f-8a9b-0c1d2e3f4a5b';

function domain(metadata: string, devices = ''): string {
  return `<domain type='kvm' id='3'>
  <name>instance-00000003</name>
  <uuid>${UUID.toUpperCase()}</uuid>
  <metadata>${metadata}</metadata>
  <vcpu placement='static' current='2'>4</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>${devices}</devices>
</domain>`;
}

const NOVA = (prefix: string, body?: string) => {
  const p = prefix ? `${prefix}:` : '';
  const xmlns = prefix ? `xmlns:${prefix}` : 'xmlns';
  return `<${p}instance ${xmlns}="${NOVA_METADATA_NAMESPACE}">
  ${
    body ??
    `<${p}name>web &amp; db &lt;1&gt;</${p}name>
  <${p}flavor name="m1.large" id="4"><${p}memory>8192</${p}memory><${p}disk>80</${p}disk>
    <${p}swap>0</${p}swap><${p}ephemeral>10</${p}ephemeral><${p}vcpus>4</${p}vcpus></${p}flavor>
  <${p}owner><${p}user uuid="u1">alice</${p}user><${p}project uuid="p1">demo</${p}project></${p}owner>
  <${p}root type="image" uuid="img-9"/>`
  }
</${p}instance>`;
};

describe('parseDomainXml', () => {
  it("reads nova's metadata by its namespace, whatever the prefix", () => {
    for (const prefix of ['nova', 'n', '']) {
      const parsed = parseDomainXml(domain(NOVA(prefix)));
      expect(parsed.uuid).toBe(UUID);
      expect(parsed.name).toBe('instance-00000003');
      expect(parsed.vcpus).toBe(2);
      expect(parsed.architecture).toBe('x86_64');
      expect(parsed.osType).toBe('hvm');
      expect(parsed.nova).toEqual({
        name: 'web & db <1>',
        flavor: { id: '4', name: 'm1.large', vcpus: 4, ram: 8192, disk: 80, ephemeral: 10, swap: 0 },
        userId: 'u1',
        projectId: 'p1',
        imageId: 'img-9',
      });
    }
  });

  it('ignores look-alike metadata in another namespace, and incomplete nova metadata', () => {
    const other = NOVA('nova').replace(NOVA_METADATA_NAMESPACE, 'http://example.com/nova/1.1');
    expect(parseDomainXml(domain(other)).nova).toBeNull();
    expect(parseDomainXml(domain('')).nova).toBeNull();
    const noOwner = NOVA('nova', '<nova:name>x</nova:name><nova:flavor name="f"/>');
    expect(parseDomainXml(domain(noOwner)).nova).toBeNull();
    // A volume-booted instance has no image; unreadable flavor numbers are null, not NaN.
    const volumeBooted = NOVA('nova')
      .replace(/<nova:root[^>]*>/, '')
      .replace('<nova:vcpus>4</nova:vcpus>', '<nova:vcpus>four</nova:vcpus>')
      .replace('<nova:disk>80</nova:disk>', '<nova:disk>-1</nova:disk>');
    const parsed = parseDomainXml(domain(volumeBooted)).nova!;
    expect(parsed.imageId).toBeNull();
    expect(parsed.flavor.vcpus).toBeNull();
    expect(parsed.flavor.disk).toBeNull();
  });

  it('keeps disks with a source and interfaces with a target, and skips names unsafe for virsh', () => {
    const devices = `
      <disk type='file' device='disk'><source file='/a.qcow2'/><target dev='vda' bus='virtio'/></disk>
      <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>
      <disk type='file' device='disk'><source file='/b'/><target dev='vdb; destroy x' bus='virtio'/></disk>
      <interface type='bridge'><mac address='fa:16:3e:aa:bb:cc'/><target dev='tap-1'/>
        <filterref filter='nova-instance-instance-00000003-fa163eaabbcc'>
          <parameter name='IP' value='10.0.0.5'/><parameter name='__proto__' value='x'/>
        </filterref></interface>
      <interface type='bridge'><mac address='fa:16:3e:00:00:01'/></interface>
      <interface type='bridge'><target dev="tap'2"/></interface>`;
    const parsed = parseDomainXml(domain(NOVA('nova'), devices));
    expect(parsed.disks).toEqual([{ device: 'vda' }]);
    expect(parsed.interfaces).toHaveLength(1);
    const [vnic] = parsed.interfaces;
    expect(vnic).toMatchObject({
      name: 'tap-1',
      mac: 'fa:16:3e:aa:bb:cc',
      filter: 'nova-instance-instance-00000003-fa163eaabbcc',
    });
    expect(Object.getPrototypeOf(vnic!.parameters)).toBeNull();
    expect(Object.keys(vnic!.parameters).sort()).toEqual(['__proto__', 'ip']);
    expect(vnicResourceId(parsed, vnic!)).toBe('nova-instance-instance-00000003-fa163eaabbcc');
    expect(vnicResourceId(parsed, { ...vnic!, filter: null })).toBe(`instance-00000003-${UUID}-tap-1`);
  });

  it('does not expand entities a DOCTYPE defines (no entity bomb)', () => {
    const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const entities = levels
      .map((name, i) => `<!ENTITY ${name} "${i === 0 ? 'x'.repeat(64) : `&${levels[i - 1]};`.repeat(10)}">`)
      .join('');
    const xml = `<!DOCTYPE domain [${entities}]><domain><name>&g;</name><uuid>${UUID}</uuid></domain>`;
    expect(parseDomainXml(xml).name.length).toBeLessThan(100);
  });

  it('refuses what is not a domain document', () => {
    for (const text of [
      '',
      'not xml <<<',
      '<network><name>x</name></network>',
      domain('').replace(UUID.toUpperCase(), '../../etc'),
    ]) {
      expect(() => parseDomainXml(text), text).toThrowError(
        expect.objectContaining({ code: 'POLLING_BAD_RESPONSE' }),
      );
    }
    expect(
      pollingErrors.is(
        catchError(() => parseDomainXml('<domain/>')),
        'POLLING_BAD_RESPONSE',
      ),
    ).toBe(true);
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('stats parsers', () => {
  it('reads key/value lines and drops values that are not plain non-negative integers', () => {
    const stats = parseStatLines(
      'vda rd_req 12\nvda rd_bytes 4096\nvda wr_req -3\nvda wr_bytes 1e9\nvda errs 0x10\n\ngarbage\nvda flush 99999999999999999999\n',
    );
    expect([...stats]).toEqual([
      ['rd_req', 12],
      ['rd_bytes', 4096],
    ]);
    expect([...parseStatLines('actual 2097152\nswap_in 0\nrss 1048576\nlast_update 1796363165\n')]).toEqual([
      ['actual', 2097152],
      ['swap_in', 0],
      ['rss', 1048576],
      ['last_update', 1796363165],
    ]);
    expect(parseStatLines('error: domain is not running').size).toBe(0);
  });

  it('reads domblkinfo in bytes, lower-cased', () => {
    const info = parseBlockInfo('Capacity:       10737418240\nAllocation:     200704\nPhysical:       x\n');
    expect([...info]).toEqual([
      ['capacity', 10737418240],
      ['allocation', 200704],
    ]);
  });

  it('reads cpu-stats time to the nanosecond, beyond what a float of seconds keeps', () => {
    const output = 'Total:\n\tcpu_time         8000000.123456789 seconds\n\tuser_time  1.0 seconds\n';
    expect(parseCpuTimeNs(output)).toBe(8000000123456789);
    expect(parseCpuTimeNs('\tcpu_time  48.7 seconds')).toBe(48_700_000_000);
    expect(parseCpuTimeNs('\tcpu_time  -1 seconds')).toBeNull();
    expect(parseCpuTimeNs('')).toBeNull();
  });
});

describe('domainCpuTimeNs', () => {
  const stats = (text: string) => new Map(text.split(' ').map((pair) => pair.split('=') as [string, string]));
  it("sums every vCPU's time and wait as Ceilometer does, else takes cpu.time", () => {
    const both =
      'cpu.time=900 vcpu.current=2 vcpu.maximum=4 vcpu.0.time=100 vcpu.0.wait=5 vcpu.1.time=200 vcpu.1.wait=7';
    expect(domainCpuTimeNs(stats(both))).toBe(312);
    // A hole: vCPU 1 has no wait, so two current vCPUs are not both reported.
    expect(domainCpuTimeNs(stats(both.replace(' vcpu.1.wait=7', '')))).toBe(900);
    expect(
      domainCpuTimeNs(stats('cpu.time=900 vcpu.current=1 vcpu.maximum=1 vcpu.0.time=-1 vcpu.0.wait=0')),
    ).toBe(900);
    expect(
      domainCpuTimeNs(stats('vcpu.current=1 vcpu.maximum=99999999999 vcpu.0.time=1 vcpu.0.wait=1')),
    ).toBe(2);
    expect(domainCpuTimeNs(stats('state.state=1 state.reason=0'))).toBeNull();
    expect(domainCpuTimeNs(stats('cpu.time=1e9'))).toBeNull();
  });
});

describe('computeSamples', () => {
  const described = parseDomainXml(
    domain(
      NOVA('nova'),
      `<disk type='file' device='disk'><source file='/a'/><target dev='vda'/></disk>
       <interface type='bridge'><mac address='fa:16:3e:aa:bb:cc'/><target dev='tap1'/></interface>`,
    ),
  );
  const reading = (overrides: Partial<InstanceReading>): InstanceReading => ({
    domain: described as InstanceReading['domain'],
    state: 1,
    cpuTimeNs: 5e9,
    memory: new Map(),
    disks: new Map([
      [
        'vda',
        {
          stats: new Map([['rd_bytes', 10]]),
          info: new Map([
            ['capacity', 4096],
            ['allocation', 100],
            ['physical', 8192],
          ]),
        },
      ],
    ]),
    interfaces: new Map([['tap1', new Map([['rx_drop', 3]])]]),
    ...overrides,
  });
  const all = new Set([UUID]);
  const volume = (meter: string, r: InstanceReading) =>
    computeSamples(meter, [r], all, 'cn').map((s) => s.volume);

  it('computes memory.usage from usable when the guest reports it, else from unused, else not at all', () => {
    const memory = (entries: [string, number][]) => reading({ memory: new Map(entries) });
    expect(
      volume(
        'memory.usage',
        memory([
          ['available', 4096],
          ['usable', 1024],
          ['unused', 2048],
        ]),
      ),
    ).toEqual([3]);
    expect(
      volume(
        'memory.usage',
        memory([
          ['available', 4096],
          ['unused', 2048],
        ]),
      ),
    ).toEqual([2]);
    expect(volume('memory.usage', memory([['actual', 4096]]))).toEqual([]);
    expect(volume('memory.resident', memory([['rss', 512]]))).toEqual([0.5]);
  });

  it('takes the larger of capacity and physical for a disk capacity (CD-ROM alignment)', () => {
    expect(volume('disk.device.capacity', reading({}))).toEqual([8192]);
    expect(volume('disk.device.usage', reading({}))).toEqual([8192]);
    expect(volume('disk.device.allocation', reading({}))).toEqual([100]);
    expect(volume('disk.device.write.bytes', reading({}))).toEqual([]);
  });

  it('maps libvirt states to nova power states, and polls a shut-off instance for power.state only', () => {
    expect(volume('power.state', reading({ state: 2 }))).toEqual([1]);
    expect(volume('power.state', reading({ state: 4 }))).toEqual([4]);
    const off = reading({ state: 5 });
    expect(volume('power.state', off)).toEqual([4]);
    for (const meter of ['cpu', 'vcpus', 'disk.device.read.bytes', 'network.incoming.packets.drop']) {
      expect(volume(meter, reading({})), meter).toHaveLength(1);
    }
    expect(volume('cpu', off)).toEqual([]);
    expect(volume('power.state', reading({ state: null }))).toEqual([]);
  });

  it('gives samples only for the resources asked for', () => {
    expect(computeSamples('cpu', [reading({})], new Set(['other']), 'cn')).toEqual([]);
    const [sample] = computeSamples('network.incoming.packets.drop', [reading({})], all, 'cn');
    expect(sample).toMatchObject({
      resourceId: `instance-00000003-${UUID}-tap1`,
      userId: 'u1',
      projectId: 'p1',
      metadata: { vnic_name: 'tap1', instance_id: UUID, display_name: 'web & db <1>', instance_host: 'cn' },
    });
  });
});
