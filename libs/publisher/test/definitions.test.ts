import { readFileSync } from 'node:fs';
import type { MeterSample } from '@granary/pipeline';
import { DEFAULT_SNMP_DEFINITIONS, HOST_METER_NAMES, parseSnmpDefinitions } from '@granary/polling';
import { describe, expect, it } from 'vitest';
import {
  CEILOMETER_RESOURCE_TYPES,
  MeterMapper,
  compileAttributePath,
  parseResourceDefinitions,
  publisherErrors,
} from '../index.ts';

const DATA = '/work/shared/reference/ceilometer-data';
const SHIPPED = new URL('../../../apps/ingest/config/gnocchi_resources.yaml', import.meta.url);
const read = (path: string | URL) => readFileSync(path, 'utf8');

const sample = (overrides: Partial<MeterSample> = {}): MeterSample => ({
  counter_name: 'cpu',
  counter_type: 'cumulative',
  counter_unit: 'ns',
  counter_volume: 1,
  user_id: 'u',
  project_id: 'p',
  user_name: null,
  project_name: null,
  resource_id: 'b7f3c5c2-0c8a-4d7c-9a43-1c2b3d4e5f60',
  timestamp: 1_700_000_000_000_000,
  resource_metadata: {},
  source: 'openstack',
  message_id: 'id',
  monotonic_time: null,
  ...overrides,
});

describe('attribute paths (jsonpath-rw subset)', () => {
  const document = {
    resource_metadata: { flavor: { id: 'm1', name: 'small' }, host: 'h1', instance_host: null, n: 0 },
  };
  it.each([
    ['resource_metadata.host', 'h1'],
    ['resource_metadata.(instance_host|host)', 'h1'],
    ['resource_metadata.(instance_flavor_id|(flavor.id)|flavor_id)', 'm1'],
    ['$.resource_metadata.flavor.name', 'small'],
    ["resource_metadata.'flavor'.id", 'm1'],
    ['resource_metadata.n', 0],
    ['resource_metadata.missing', undefined],
    ['resource_metadata.host.deeper', undefined],
    ['resource_metadata.user_metadata.server_group', undefined],
  ])('%s → %j', (path, expected) => {
    expect(compileAttributePath(path).read(document)).toBe(expected);
  });

  it.each(['resource_metadata.(host', 'a..b', 'a[0]', 'a | | b'])('refuses %s', (path) => {
    expect(() => compileAttributePath(path)).toThrow(
      expect.objectContaining({ code: 'PUBLISHER_DEFINITIONS_INVALID' }),
    );
  });
});

describe("Ceilometer master's gnocchi_resources.yaml", () => {
  const definitions = parseResourceDefinitions(read(`${DATA}/gnocchi_resources.yaml`));
  const mapper = new MeterMapper(definitions);

  it('reads the default policy and the four Ceilometer archive policies in seconds', () => {
    expect(definitions.archivePolicyDefault).toBe('ceilometer-low');
    expect(definitions.archivePolicies.map((p) => p.name)).toEqual([
      'ceilometer-low',
      'ceilometer-low-rate',
      'ceilometer-high',
      'ceilometer-high-rate',
    ]);
    expect(definitions.archivePolicies[1]).toEqual({
      name: 'ceilometer-low-rate',
      backWindow: 0,
      aggregationMethods: ['mean', 'rate:mean'],
      definition: [{ granularity: 300, timespan: 30 * 86400, points: null }],
    });
    expect(definitions.archivePolicies[2]!.definition.map((d) => [d.granularity, d.timespan])).toEqual([
      [1, 3600],
      [60, 86400],
      [3600, 365 * 86400],
    ]);
  });

  it('maps an instance meter with its attributes, and cpu to ceilometer-low-rate', () => {
    const mapped = mapper.map(
      sample({
        resource_metadata: {
          host: 'compute-1',
          instance_host: null,
          flavor: { id: 'f1', name: 'm1.small' },
          display_name: 'web',
          image_ref: 'img',
          user_metadata: { server_group: 'g' },
          unrelated: 'x',
        },
      }),
    )!;
    expect(mapped).toEqual({
      resourceType: 'instance',
      resourceId: 'b7f3c5c2-0c8a-4d7c-9a43-1c2b3d4e5f60',
      userId: 'u',
      projectId: 'p',
      attributes: {
        host: 'compute-1',
        flavor_id: 'f1',
        flavor_name: 'm1.small',
        display_name: 'web',
        image_ref: 'img',
        server_group: 'g',
      },
      metricName: 'cpu',
      archivePolicyName: 'ceilometer-low-rate',
      unit: 'ns',
    });
    expect(mapper.map(sample({ counter_name: 'memory.usage', counter_unit: 'MiB' }))!.archivePolicyName).toBe(
      'ceilometer-low',
    );
  });

  it('takes the list form inside the dict format (ipmi_sensor), replaces / in ids, honours the URL override', () => {
    const sensor = mapper.map(
      sample({
        counter_name: 'hardware.ipmi.fan',
        resource_id: 'node/fan-1',
        resource_metadata: { node: 'n1' },
      }),
    )!;
    expect([sensor.resourceType, sensor.resourceId, sensor.attributes]).toEqual([
      'ipmi_sensor',
      'node_fan-1',
      { node: 'n1' },
    ]);
    expect(mapper.map(sample(), 'ceilometer-high')!.archivePolicyName).toBe('ceilometer-high');
  });

  it('leaves unknown meters unmapped', () => {
    expect(mapper.map(sample({ counter_name: 'cpu_util' }))).toBeUndefined();
  });
});

describe('the Mitaka list format', () => {
  const mapper = new MeterMapper(
    parseResourceDefinitions(read(`${DATA}/gnocchi_resources.mitaka-list-format.yaml`)),
  );

  it('maps hardware meters to host types, with the per-resource policy or the default', () => {
    const disk = mapper.map(
      sample({
        counter_name: 'hardware.disk.size.used',
        resource_id: '10.0.0.5./dev/sda1',
        resource_metadata: { resource_url: 'snmp://10.0.0.5', device: '/dev/sda1' },
      }),
    )!;
    expect([disk.resourceType, disk.resourceId, disk.attributes, disk.archivePolicyName]).toEqual([
      'host_disk',
      '10.0.0.5._dev_sda1',
      { host_name: 'snmp://10.0.0.5', device_name: '/dev/sda1' },
      'ceilometer-low',
    ]);
    expect(mapper.map(sample({ counter_name: 'identity.user.created' }))!.archivePolicyName).toBe('low');
    // The deprecated per-resource policy loses only to the URL override.
    expect(mapper.map(sample({ counter_name: 'identity.user.created' }), 'x')!.archivePolicyName).toBe('x');
  });
});

describe('definition errors', () => {
  it.each([
    ['resources: {}', 'resources must be a list'],
    ['resources: [{metrics: [a]}]', 'needs a resource_type'],
    ['resources: [{resource_type: t}]', 'metrics must be a mapping or a list'],
    ['resources: [{resource_type: t, metrics: {a: 3}}]', 'metric a must be empty or a mapping'],
    ['resources: [{resource_type: t, metrics: [a], attributes: {x: 1}}]', 'attribute x must be a path'],
    ['archive_policies: [{name: p, definition: [{granularity: soon}]}]\nresources: []', 'is not a timespan'],
    ['resources: [\n', 'not valid YAML'],
  ])('%j is refused (%s)', (yaml, problem) => {
    let caught: unknown;
    try {
      parseResourceDefinitions(yaml);
    } catch (error) {
      caught = error;
    }
    expect(publisherErrors.is(caught, 'PUBLISHER_DEFINITIONS_INVALID')).toBe(true);
    expect((caught as Error).message).toContain(problem);
  });
});

describe('the resource definitions Granary ships', () => {
  const shipped = parseResourceDefinitions(read(SHIPPED));
  const mapper = new MeterMapper(shipped);
  const master = new MeterMapper(parseResourceDefinitions(read(`${DATA}/gnocchi_resources.yaml`)));

  it("contains master's definitions unchanged", () => {
    const probe = sample({ resource_metadata: { host: 'h', display_name: 'd', name: 'n', provider: 'p' } });
    for (const meter of master.meters()) {
      const withMeter = { ...probe, counter_name: meter };
      expect(mapper.map(withMeter), meter).toEqual(master.map(withMeter));
    }
    expect(shipped.archivePolicies).toEqual(master.definitions.archivePolicies);
  });

  it('maps every meter of the host and SNMP pollsters, gauges on ceilometer-low', () => {
    const snmp = parseSnmpDefinitions(read(DEFAULT_SNMP_DEFINITIONS), 'snmp');
    const emitted = new Map<string, string>(snmp.map((d) => [d.name, d.type]));
    for (const name of HOST_METER_NAMES) expect(emitted.has(name), name).toBe(true);
    for (const [name, type] of emitted) {
      const mapped = mapper.map(
        sample({
          counter_name: name,
          counter_type: type as MeterSample['counter_type'],
          resource_id: 'host-1',
        }),
      );
      expect(mapped, name).toBeDefined();
      expect(['host', 'host_disk', 'host_network_interface']).toContain(mapped!.resourceType);
      expect(mapped!.archivePolicyName, name).toBe(
        type === 'gauge' ? 'ceilometer-low' : 'ceilometer-low-rate',
      );
    }
  });

  it("gives a host its host_name from the pollster's resource_url, as the host type requires", () => {
    const mapped = mapper.map(
      sample({
        counter_name: 'hardware.network.incoming.bytes',
        resource_id: 'node-1.eth0',
        resource_metadata: { resource_url: 'node-1', name: 'eth0', speed: 1000, mac: 'aa' },
      }),
    )!;
    expect(mapped.attributes).toEqual({ host_name: 'node-1', device_name: 'eth0' });
    const required = Object.entries(CEILOMETER_RESOURCE_TYPES[mapped.resourceType]!)
      .filter(([, a]) => a.required)
      .map(([name]) => name);
    expect(required.every((name) => name in mapped.attributes)).toBe(true);
  });
});

describe("Ceilometer's resource types", () => {
  it('are resources_initial with every update operation applied', () => {
    const extract = JSON.parse(read(`${DATA}/gnocchi_resource_types.json`)) as {
      resources_initial: Record<string, Record<string, unknown>>;
      resources_update_operations: Array<{
        type: string;
        resource_type: string;
        data: Array<{
          op?: string;
          path?: string;
          value?: Record<string, unknown>;
          attributes?: Record<string, unknown>;
        }>;
      }>;
    };
    const expected = structuredClone(extract.resources_initial);
    for (const operation of extract.resources_update_operations) {
      if (operation.type === 'create_resource_type')
        expected[operation.resource_type] = operation.data[0]!.attributes!;
      else
        for (const patch of operation.data) {
          expect(patch.op).toBe('add');
          const { options: _fill, ...value } = patch.value!;
          expected[operation.resource_type]![patch.path!.replace('/attributes/', '')] = value;
        }
    }
    expect(CEILOMETER_RESOURCE_TYPES).toEqual(expected);
  });
});
