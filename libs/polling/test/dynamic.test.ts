import { readFileSync } from 'node:fs';
import { type TestServer, startTestServer } from '@granary/testing/http-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileAttributePath,
  createDynamicPollster,
  parseDynamicPollsterDefinitions,
  pollingErrors,
  readAttribute,
} from '../index.ts';

const SERVERS_PAGE_1 = {
  servers: [
    {
      id: 'vm-1',
      status: 'ACTIVE',
      name: 'web',
      tenant_id: 'p-1',
      user_id: 'u-1',
      flavor: { vcpus: 2, ram: 2048, original_name: 'm1.small' },
      image: { id: 'img-1' },
      tags: ['a', 'b'],
    },
    {
      id: 'vm-2',
      status: 'SHUTOFF',
      name: 'db',
      tenant_id: 'p-1',
      user_id: 'u-2',
      flavor: { vcpus: 4 },
      image: '',
      tags: [],
    },
  ],
  server_links: [{ rel: 'next', href: 'http://127.0.0.1:PORT/v2.1/servers/detail?marker=vm-2' }],
};
const SERVERS_PAGE_2 = {
  servers: [
    {
      id: 'vm-3',
      status: 'ERROR',
      name: 'batch',
      tenant_id: 'p-2',
      user_id: 'u-1',
      flavor: { vcpus: 1 },
      image: null,
      tags: ['x'],
    },
    {
      id: 'vm-4',
      status: 'DELETED',
      name: 'gone',
      tenant_id: 'p-2',
      user_id: 'u-1',
      flavor: { vcpus: 1 },
      image: null,
      tags: [],
    },
  ],
  // Nova leaves the links out of the last page.
};
const USAGE = {
  summary: [
    {
      user: 'alice$admin',
      categories: [
        { category: 'get_obj', ops: 10, successful_ops: 9 },
        { category: 'put_obj', ops: 3, successful_ops: 3 },
      ],
      total: { ops: 13 },
    },
  ],
};

// Ceilometer's doc example 11 without its extra_metadata_fields, which Granary does not support.
const INSTANCE_STATUS = `
- name: "dynamic_pollster.instance.status"
  next_sample_url_attribute: "server_links | filter(lambda v: v.get('rel') == 'next', value) | list(value) | value[0] | value.get('href')"
  sample_type: "gauge"
  unit: "server"
  value_attribute: "status"
  endpoint_type: "compute"
  url_path: "/v2.1/servers/detail?all_tenants=true"
  headers:
    "Openstack-API-Version": "compute 2.65"
  project_id_attribute: "tenant_id"
  skip_sample_values: ["DELETED"]
  metadata_fields:
    - "name"
    - "flavor.vcpus"
    - "flavor.original_name"
    - "image | value or { 'id': '' } | value['id']"
    - "tags | ','.join(value)"
  value_mapping:
    ACTIVE: "1"
  default_value: 0
  metadata_mapping:
    "flavor.vcpus": "dynamic_flavor_vcpus"
    "image | value or { 'id': '' } | value['id']": "dynamic_image_ref"
    "name": "dynamic_display_name"
  preserve_mapped_metadata: false
`;

describe('dynamic pollsters against a real HTTP JSON API', () => {
  let server: TestServer;
  let silent: TestServer;

  beforeAll(async () => {
    server = await startTestServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const json = (body: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body).replaceAll('PORT', String(new URL(server.url).port)));
      };
      if (
        url.pathname === '/v2.1/servers/detail' &&
        req.headers['openstack-api-version'] !== 'compute 2.65'
      ) {
        res.writeHead(400);
        res.end();
      } else if (url.pathname === '/v2.1/servers/detail')
        json(url.searchParams.get('marker') ? SERVERS_PAGE_2 : SERVERS_PAGE_1);
      else if (url.pathname === '/admin/usage') json(USAGE);
      else if (url.pathname === '/loop') json({ items: [], next: '/loop' });
      else {
        res.writeHead(404);
        res.end();
      }
    });
    silent = await startTestServer(() => {
      // Never answers: the pollster's timeout must end the request.
    });
  });
  afterAll(async () => {
    await server.close();
    await silent.close();
  });

  it('follows pagination, maps values and metadata, skips values and sends the headers', async () => {
    const [definition] = parseDynamicPollsterDefinitions(INSTANCE_STATUS);
    const pollster = createDynamicPollster(definition!);
    expect(pollster.defaultDiscovery).toBe('endpoint:compute');
    const samples = await pollster.poll([server.url], { cache: new Map() });
    expect(samples).toEqual([
      {
        name: 'dynamic_pollster.instance.status',
        type: 'gauge',
        unit: 'server',
        volume: 1,
        resourceId: 'vm-1',
        userId: 'u-1',
        projectId: 'p-1',
        metadata: {
          'flavor.original_name': 'm1.small',
          "tags | ','.join(value)": 'a,b',
          dynamic_flavor_vcpus: 2,
          dynamic_image_ref: 'img-1',
          dynamic_display_name: 'web',
        },
      },
      expect.objectContaining({
        resourceId: 'vm-2',
        volume: 0,
        metadata: expect.objectContaining({ dynamic_image_ref: '' }),
      }),
      expect.objectContaining({ resourceId: 'vm-3', volume: 0, projectId: 'p-2' }),
    ]);
    const pages = server.requests.filter((r) => r.url?.startsWith('/v2.1/servers/detail')).map((r) => r.url);
    expect(pages).toEqual(['/v2.1/servers/detail?all_tenants=true', '/v2.1/servers/detail?marker=vm-2']);
  });

  it('emits one sample per sub-metric for multi-metric pollsters, with attribute operations', async () => {
    const definitions = parseDynamicPollsterDefinitions(`
- name: "dynamic.radosgw.api.request.{category}"
  sample_type: "gauge"
  unit: "request"
  value_attribute: "[categories].ops"
  url_path: "${server.url}/admin/usage"
  user_id_attribute: "user | value.split('$')[0]"
  project_id_attribute: "user | value.split('$') | value[1]"
  resource_id_attribute: "user  | value.split('$') | value[0]"
  response_entries_key: "summary"
- name: "dynamic.radosgw.api.request"
  sample_type: "gauge"
  unit: "request"
  value_attribute: "total.ops"
  url_path: "${server.url}/admin/usage"
  resource_id_attribute: "user"
  response_entries_key: "summary"
`);
    const [perCategory, total] = definitions.map(createDynamicPollster);
    expect(perCategory!.defaultDiscovery).toBe(`url:${server.url}/admin/usage`);
    const samples = await perCategory!.poll([`${server.url}/admin/usage`], { cache: new Map() });
    expect(samples.map((s) => [s.name, s.volume, s.resourceId, s.userId, s.projectId])).toEqual([
      ['dynamic.radosgw.api.request.get_obj', 10, 'alice', 'alice', 'admin'],
      ['dynamic.radosgw.api.request.put_obj', 3, 'alice', 'alice', 'admin'],
    ]);
    const totals = await total!.poll([`${server.url}/admin/usage`], { cache: new Map() });
    expect(totals).toMatchObject([
      { name: 'dynamic.radosgw.api.request', volume: 13, resourceId: 'alice$admin', userId: null },
    ]);
  });

  it('ends requests at the timeout and refuses pagination that loops', async () => {
    const [slow, looping] = parseDynamicPollsterDefinitions(`
- {name: slow, sample_type: gauge, unit: x, value_attribute: v, url_path: "${silent.url}/x", timeout: 0.2}
- {name: looping, sample_type: gauge, unit: x, value_attribute: v, url_path: "${server.url}/loop", next_sample_url_attribute: next}
`).map(createDynamicPollster);
    await expect(slow!.poll([`${silent.url}/x`], { cache: new Map() })).rejects.toSatisfy(
      (e) => pollingErrors.is(e, 'POLLING_SOURCE_FAILED') && /timed out/.test((e as Error).message),
    );
    await expect(looping!.poll([`${server.url}/loop`], { cache: new Map() })).rejects.toSatisfy(
      (e) => pollingErrors.is(e, 'POLLING_BAD_RESPONSE') && /loops/.test((e as Error).message),
    );
  });
});

describe('dynamic pollster definitions', () => {
  it("refuses Ceilometer's examples that need unsupported features, naming the key", () => {
    const examples = readFileSync(
      '/work/shared/reference/ceilometer-data/dynamic_pollsters_examples.yaml',
      'utf8',
    );
    expect(() => parseDynamicPollsterDefinitions(examples)).toThrow(/"module" is not supported/);
    const vpn = examples.slice(
      examples.indexOf('- name: "dynamic.network.services.vpn.connection"'),
      examples.indexOf('# --- example 3'),
    );
    const [definition] = parseDynamicPollsterDefinitions(vpn);
    expect(definition).toMatchObject({
      name: 'dynamic.network.services.vpn.connection',
      endpointType: 'network',
      defaultValue: 0,
    });
  });

  it('refuses bad names, types, expressions and half multi-metric definitions', () => {
    const base = 'sample_type: gauge, unit: x, value_attribute: v, endpoint_type: e, url_path: p';
    for (const [yaml, message] of [
      [`- {name: "bad name", ${base}}`, /bad pollster name/],
      [`- {name: n, ${base.replace('gauge', 'rate')}}`, /bad sample_type/],
      [`- {name: n, ${base}, metadata_fields: ["a | value +"]}`, /cannot be parsed/],
      [`- {name: n, ${base}, metadata_fields: ["a | len(x)"]}`, /must use "value"/],
      [`- {name: "n.{k}", ${base}}`, /multi-metric/],
      ['- {name: n, sample_type: gauge, unit: x, value_attribute: v, url_path: relative}', /absolute/],
      [`- {name: n, ${base}, host_command: "rm -rf /"}`, /"host_command" is not supported/],
    ] as const) {
      expect(() => parseDynamicPollsterDefinitions(yaml), yaml).toThrow(message);
    }
  });

  it('accepts the namespaces key, which only selects Ceilometer agents', () => {
    const [definition] = parseDynamicPollsterDefinitions(
      '- {name: n, sample_type: gauge, unit: x, value_attribute: v, endpoint_type: e, url_path: p, namespaces: [central]}',
    );
    expect(definition?.name).toBe('n');
  });

  it('keeps the first definition of a name, as Ceilometer does', () => {
    const definitions = parseDynamicPollsterDefinitions(
      '- {name: n, sample_type: gauge, unit: first, value_attribute: v, endpoint_type: e, url_path: p}\n' +
        '- {name: n, sample_type: gauge, unit: second, value_attribute: v, endpoint_type: e, url_path: p}',
    );
    expect(definitions.map((d) => d.unit)).toEqual(['first']);
  });

  it('reads attribute paths: the document itself, nested keys, list indices and missing keys', () => {
    const document = { a: { b: [{ c: 5 }] }, n: null };
    expect(readAttribute(document, compileAttributePath('.'))).toBe(document);
    expect(readAttribute(document, compileAttributePath('a.b.0.c | value * 2'))).toBe(10);
    expect(readAttribute(document, compileAttributePath('a.missing | value * 2'))).toBeNull();
    expect(readAttribute(document, compileAttributePath("n | value or 'fallback'"))).toBe('fallback');
  });
});
