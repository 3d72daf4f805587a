import { randomUUID } from 'node:crypto';
import type { Index } from '@granary/index';
import { createLogger } from '@granary/observability';
import { type TestIndex, createTestIndex } from '@granary/testing/database';
import { snappyLiteral, writeRequest } from '@granary/testing/wire-encoders';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, indexPort } from '../index.ts';
import { fakeMeasures, restConfig } from './helpers.ts';

/*
 * The tenancy matrix: every route of the API × every kind of caller, against the real index on
 * PostgreSQL, under noauth (identity headers, as behind Keystone). The expectations are written
 * out by hand from Gnocchi 4.7.1's policies.py, not computed from policy.ts, so a wrong table
 * entry in policy.ts fails here.
 *
 * The objects: a resource R created by `creator` (u1, project PS) for project PA (as a service
 * such as Ceilometer creates resources for a tenant), with a metric `cpu`. So:
 * - sameProject (u2, PS) passes `creator` through `created_by_project_id`;
 * - resourceProject (u3, PA) passes only `resource_owner` / `metric_owner`: it may read, not write;
 * - service (role service, project PX) passes `admin_or_service` rules only;
 * - other (u4, PB) passes nothing.
 */

type Who = 'admin' | 'service' | 'creator' | 'sameProject' | 'resourceProject' | 'other';
const EVERYONE: readonly Who[] = ['admin', 'service', 'creator', 'sameProject', 'resourceProject', 'other'];
const IDENTITY: Record<Who, Record<string, string>> = {
  admin: { 'x-user-id': 'adm', 'x-project-id': 'PADM', 'x-roles': 'admin' },
  service: { 'x-user-id': 'svc', 'x-project-id': 'PX', 'x-roles': 'service' },
  creator: { 'x-user-id': 'u1', 'x-project-id': 'PS', 'x-roles': 'member' },
  sameProject: { 'x-user-id': 'u2', 'x-project-id': 'PS', 'x-roles': 'member' },
  resourceProject: { 'x-user-id': 'u3', 'x-project-id': 'PA', 'x-roles': 'member' },
  other: { 'x-user-id': 'u4', 'x-project-id': 'PB', 'x-roles': 'member' },
};

/** A status, or for list-like routes whether the fixture is in (or affected by) the answer. */
type Outcome = number | 'sees' | 'hidden';
/** Outcomes in the order admin, service, creator, sameProject, resourceProject, other. */
type Row = readonly [Outcome, Outcome, Outcome, Outcome, Outcome, Outcome];

interface Fixtures {
  resourceId(): Promise<string>;
  cpuMetricId(): Promise<string>;
  policyName(): Promise<string>;
  ruleName(): Promise<string>;
  typeName(): Promise<string>;
}

interface Case {
  expect: Row;
  call(fx: Fixtures, as: Who): Promise<LightMyRequestResponse>;
  /** For 'sees'/'hidden': whether the answer contains (or affected) the fixture. */
  sees?(response: LightMyRequestResponse, fx: Fixtures): Promise<boolean>;
}

let testIndex: TestIndex;
let index: Index;
let app: FastifyInstance;

beforeAll(async () => {
  testIndex = await createTestIndex();
  index = testIndex.index;
  app = await buildApi(
    { index: indexPort(index), measures: fakeMeasures().port, logger: createLogger('policy-int', 'silent') },
    restConfig({ auth: { mode: 'noauth' } }),
  );
  const low = await call('admin', 'POST', '/v1/archive_policy', LOW);
  expect(low.statusCode, low.body).toBe(201);
});
afterAll(async () => {
  await app?.close();
  await testIndex?.drop();
});

const LOW = { name: 'low', definition: [{ granularity: 60, points: 10 }] };
const MEASURES = [{ timestamp: '2026-01-01T00:00:00', value: 1 }];

function call(as: Who | Record<string, string>, method: string, url: string, payload?: unknown) {
  const identity = typeof as === 'string' ? IDENTITY[as] : as;
  const contentType = url.startsWith('/v1/resource_type/')
    ? 'application/json-patch+json'
    : 'application/json';
  return app.inject({
    method: method as 'GET',
    url,
    headers: { ...identity, ...(payload !== undefined ? { 'content-type': contentType } : {}) },
    ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
  });
}

/** A request whose body is not JSON (line protocol, snappy protobuf). */
function callRaw(as: Who, url: string, contentType: string, body: string | Uint8Array) {
  return app.inject({
    method: 'POST',
    url,
    headers: { ...IDENTITY[as], 'content-type': contentType },
    payload: Buffer.from(body),
  });
}

async function created(response: LightMyRequestResponse | Promise<LightMyRequestResponse>) {
  const answer = await response;
  expect(answer.statusCode, answer.body).toBe(201);
  return answer.json();
}

/** Fresh objects for one cell (a cell may delete them); each made on first use. */
function fixtures(): Fixtures {
  const once = <T>(make: () => Promise<T>) => {
    let made: Promise<T> | undefined;
    return () => {
      made ??= make();
      return made;
    };
  };
  const resource = once(() =>
    created(
      call('creator', 'POST', '/v1/resource/generic', {
        id: randomUUID(),
        project_id: 'PA',
        metrics: { cpu: { archive_policy_name: 'low' } },
      }),
    ),
  );
  return {
    resourceId: async () => (await resource()).id,
    cpuMetricId: async () => (await resource()).metrics.cpu,
    policyName: once(async () => {
      const name = `ap-${randomUUID()}`;
      await created(call('admin', 'POST', '/v1/archive_policy', { ...LOW, name }));
      return name;
    }),
    ruleName: once(async () => {
      const name = `rule-${randomUUID()}`;
      await created(
        call('admin', 'POST', '/v1/archive_policy_rule', {
          name,
          metric_pattern: `${name}.*`,
          archive_policy_name: 'low',
        }),
      );
      return name;
    }),
    typeName: once(async () => {
      const name = `rt${randomUUID().replaceAll('-', '')}`;
      await created(call('admin', 'POST', '/v1/resource_type', { name, attributes: {} }));
      return name;
    }),
  };
}

const ALL_OK = (status: number): Row => [status, status, status, status, status, status];
const listed = (id: string, body: unknown) =>
  Array.isArray(body) && body.some((item) => (item as { id?: string }).id === id);
const seesResource = async (response: LightMyRequestResponse, fx: Fixtures) =>
  listed(await fx.resourceId(), response.json());

/** policies.py, route by route. */
const MATRIX = new Map<string, Case>([
  ['GET /', { expect: ALL_OK(200), call: (_, as) => call(as, 'GET', '/') }],
  ['GET /v1', { expect: ALL_OK(200), call: (_, as) => call(as, 'GET', '/v1') }],
  ['GET /healthcheck', { expect: ALL_OK(200), call: (_, as) => call(as, 'GET', '/healthcheck') }],
  ['GET /openapi.json', { expect: ALL_OK(200), call: (_, as) => call(as, 'GET', '/openapi.json') }],
  ['GET /v1/capabilities', { expect: ALL_OK(200), call: (_, as) => call(as, 'GET', '/v1/capabilities') }],
  // get status: role:admin (no backlog source here, so the admin gets the 503 that follows the check)
  [
    'GET /v1/status',
    { expect: [503, 403, 403, 403, 403, 403], call: (_, as) => call(as, 'GET', '/v1/status') },
  ],

  // archive policies: create admin_or_service; get/list unprotected; update/delete admin
  ['GET /v1/archive_policy', { expect: ALL_OK(200), call: (_, as) => call(as, 'GET', '/v1/archive_policy') }],
  [
    'POST /v1/archive_policy',
    {
      expect: [201, 201, 403, 403, 403, 403],
      call: (_, as) => call(as, 'POST', '/v1/archive_policy', { ...LOW, name: `ap-${randomUUID()}` }),
    },
  ],
  [
    'GET /v1/archive_policy/{name}',
    {
      expect: ALL_OK(200),
      call: async (fx, as) => call(as, 'GET', `/v1/archive_policy/${await fx.policyName()}`),
    },
  ],
  [
    'PATCH /v1/archive_policy/{name}',
    {
      expect: [200, 403, 403, 403, 403, 403],
      call: async (fx, as) =>
        call(as, 'PATCH', `/v1/archive_policy/${await fx.policyName()}`, { definition: LOW.definition }),
    },
  ],
  [
    'DELETE /v1/archive_policy/{name}',
    {
      expect: [204, 403, 403, 403, 403, 403],
      call: async (fx, as) => call(as, 'DELETE', `/v1/archive_policy/${await fx.policyName()}`),
    },
  ],

  // archive policy rules: create/update/delete admin; get/list unprotected
  [
    'GET /v1/archive_policy_rule',
    { expect: ALL_OK(200), call: (_, as) => call(as, 'GET', '/v1/archive_policy_rule') },
  ],
  [
    'POST /v1/archive_policy_rule',
    {
      expect: [201, 403, 403, 403, 403, 403],
      call: (_, as) =>
        call(as, 'POST', '/v1/archive_policy_rule', {
          name: `rule-${randomUUID()}`,
          metric_pattern: 'x.*',
          archive_policy_name: 'low',
        }),
    },
  ],
  [
    'GET /v1/archive_policy_rule/{name}',
    {
      expect: ALL_OK(200),
      call: async (fx, as) => call(as, 'GET', `/v1/archive_policy_rule/${await fx.ruleName()}`),
    },
  ],
  [
    'PATCH /v1/archive_policy_rule/{name}',
    {
      expect: [200, 403, 403, 403, 403, 403],
      call: async (fx, as) =>
        call(as, 'PATCH', `/v1/archive_policy_rule/${await fx.ruleName()}`, { name: `rule-${randomUUID()}` }),
    },
  ],
  [
    'DELETE /v1/archive_policy_rule/{name}',
    {
      expect: [204, 403, 403, 403, 403, 403],
      call: async (fx, as) => call(as, 'DELETE', `/v1/archive_policy_rule/${await fx.ruleName()}`),
    },
  ],

  // resource types: create/update admin_or_service; delete admin; get/list unprotected
  ['GET /v1/resource_type', { expect: ALL_OK(200), call: (_, as) => call(as, 'GET', '/v1/resource_type') }],
  [
    'POST /v1/resource_type',
    {
      expect: [201, 201, 403, 403, 403, 403],
      call: (_, as) =>
        call(as, 'POST', '/v1/resource_type', {
          name: `rt${randomUUID().replaceAll('-', '')}`,
          attributes: {},
        }),
    },
  ],
  [
    'GET /v1/resource_type/{name}',
    {
      expect: ALL_OK(200),
      call: async (fx, as) => call(as, 'GET', `/v1/resource_type/${await fx.typeName()}`),
    },
  ],
  [
    'PATCH /v1/resource_type/{name}',
    {
      expect: [200, 200, 403, 403, 403, 403],
      call: async (fx, as) =>
        call(as, 'PATCH', `/v1/resource_type/${await fx.typeName()}`, [
          { op: 'add', path: '/attributes/color', value: { type: 'string', required: false } },
        ]),
    },
  ],
  [
    'DELETE /v1/resource_type/{name}',
    {
      expect: [204, 403, 403, 403, 403, 403],
      call: async (fx, as) => call(as, 'DELETE', `/v1/resource_type/${await fx.typeName()}`),
    },
  ],

  // metrics: create unprotected; get admin_or_service_or_creator_or_metric_owner; delete
  // admin_or_creator; list admin_or_creator_or_metric_owner (a filter for non-admins)
  [
    'POST /v1/metric',
    { expect: ALL_OK(201), call: (_, as) => call(as, 'POST', '/v1/metric', { archive_policy_name: 'low' }) },
  ],
  [
    'GET /v1/metric',
    {
      expect: ['sees', 'hidden', 'sees', 'sees', 'sees', 'hidden'],
      call: async (fx, as) => {
        await fx.cpuMetricId();
        return call(as, 'GET', '/v1/metric');
      },
      sees: async (response, fx) => listed(await fx.cpuMetricId(), response.json()),
    },
  ],
  [
    'GET /v1/metric/{id}',
    {
      expect: [200, 200, 200, 200, 200, 403],
      call: async (fx, as) => call(as, 'GET', `/v1/metric/${await fx.cpuMetricId()}`),
    },
  ],
  [
    'DELETE /v1/metric/{id}',
    {
      expect: [204, 403, 204, 204, 403, 403],
      call: async (fx, as) => call(as, 'DELETE', `/v1/metric/${await fx.cpuMetricId()}`),
    },
  ],
  [
    'POST /v1/metric/{id}/measures',
    {
      expect: [202, 202, 202, 202, 403, 403],
      call: async (fx, as) => call(as, 'POST', `/v1/metric/${await fx.cpuMetricId()}/measures`, MEASURES),
    },
  ],
  [
    'GET /v1/metric/{id}/measures',
    {
      expect: [200, 200, 200, 200, 200, 403],
      call: async (fx, as) => call(as, 'GET', `/v1/metric/${await fx.cpuMetricId()}/measures`),
    },
  ],

  // resources: create unprotected; get/list admin_or_creator_or_resource_owner; update
  // admin_or_service_or_creator; delete (one or many) admin_or_creator; search
  // admin_or_service_or_creator_or_resource_owner
  ['GET /v1/resource', { expect: ALL_OK(200), call: (_, as) => call(as, 'GET', '/v1/resource') }],
  [
    'GET /v1/resource/{type}',
    {
      expect: ['sees', 'hidden', 'sees', 'sees', 'sees', 'hidden'],
      call: async (fx, as) => {
        await fx.resourceId();
        return call(as, 'GET', '/v1/resource/generic');
      },
      sees: seesResource,
    },
  ],
  [
    'POST /v1/resource/{type}',
    { expect: ALL_OK(201), call: (_, as) => call(as, 'POST', '/v1/resource/generic', { id: randomUUID() }) },
  ],
  [
    'DELETE /v1/resource/{type}',
    {
      expect: ['sees', 'hidden', 'sees', 'sees', 'hidden', 'hidden'],
      call: async (fx, as) =>
        call(as, 'DELETE', '/v1/resource/generic', { '=': { id: await fx.resourceId() } }),
      sees: async (response) => response.json().deleted === 1,
    },
  ],
  [
    'GET /v1/resource/{type}/{id}',
    {
      expect: [200, 403, 200, 200, 200, 403],
      call: async (fx, as) => call(as, 'GET', `/v1/resource/generic/${await fx.resourceId()}`),
    },
  ],
  [
    'PATCH /v1/resource/{type}/{id}',
    {
      expect: [200, 200, 200, 200, 403, 403],
      call: async (fx, as) =>
        call(as, 'PATCH', `/v1/resource/generic/${await fx.resourceId()}`, { user_id: `u-${randomUUID()}` }),
    },
  ],
  [
    'DELETE /v1/resource/{type}/{id}',
    {
      expect: [204, 403, 204, 204, 403, 403],
      call: async (fx, as) => call(as, 'DELETE', `/v1/resource/generic/${await fx.resourceId()}`),
    },
  ],
  [
    'GET /v1/resource/{type}/{id}/history',
    {
      expect: [200, 403, 200, 200, 200, 403],
      call: async (fx, as) => call(as, 'GET', `/v1/resource/generic/${await fx.resourceId()}/history`),
    },
  ],
  [
    'GET /v1/resource/{type}/{id}/metric',
    {
      expect: [200, 403, 200, 200, 200, 403],
      call: async (fx, as) => call(as, 'GET', `/v1/resource/generic/${await fx.resourceId()}/metric`),
    },
  ],
  [
    'POST /v1/resource/{type}/{id}/metric',
    {
      expect: [200, 200, 200, 200, 403, 403],
      call: async (fx, as) =>
        call(as, 'POST', `/v1/resource/generic/${await fx.resourceId()}/metric`, {
          mem: { archive_policy_name: 'low' },
        }),
    },
  ],
  [
    'GET /v1/resource/{type}/{id}/metric/{name}',
    {
      expect: [200, 200, 200, 200, 200, 403],
      call: async (fx, as) => call(as, 'GET', `/v1/resource/generic/${await fx.resourceId()}/metric/cpu`),
    },
  ],
  [
    'DELETE /v1/resource/{type}/{id}/metric/{name}',
    {
      expect: [204, 403, 204, 204, 403, 403],
      call: async (fx, as) => call(as, 'DELETE', `/v1/resource/generic/${await fx.resourceId()}/metric/cpu`),
    },
  ],
  [
    'POST /v1/resource/{type}/{id}/metric/{name}/measures',
    {
      expect: [202, 202, 202, 202, 403, 403],
      call: async (fx, as) =>
        call(as, 'POST', `/v1/resource/generic/${await fx.resourceId()}/metric/cpu/measures`, MEASURES),
    },
  ],
  [
    'GET /v1/resource/{type}/{id}/metric/{name}/measures',
    {
      expect: [200, 200, 200, 200, 200, 403],
      call: async (fx, as) =>
        call(as, 'GET', `/v1/resource/generic/${await fx.resourceId()}/metric/cpu/measures`),
    },
  ],
  [
    'POST /v1/search/resource/{type}',
    {
      expect: ['sees', 'sees', 'sees', 'sees', 'sees', 'hidden'],
      call: async (fx, as) =>
        call(as, 'POST', '/v1/search/resource/generic', { '=': { id: await fx.resourceId() } }),
      sees: seesResource,
    },
  ],
  // Not a Gnocchi route: the method is refused whoever asks.
  [
    'GET /v1/search/resource/{type}',
    { expect: ALL_OK(405), call: (_, as) => call(as, 'GET', '/v1/search/resource/generic') },
  ],

  // aggregates read metrics: get metric on each (no measures stored: overlap 0 lets empty series through)
  [
    'POST /v1/aggregates',
    {
      expect: [200, 200, 200, 200, 200, 403],
      call: async (fx, as) =>
        call(as, 'POST', '/v1/aggregates', { operations: `(metric ${await fx.cpuMetricId()} mean)` }),
    },
  ],
  [
    'GET /v1/aggregation/metric',
    {
      expect: [200, 200, 200, 200, 200, 403],
      call: async (fx, as) =>
        call(as, 'GET', `/v1/aggregation/metric?metric=${await fx.cpuMetricId()}&needed_overlap=0`),
    },
  ],
  [
    'POST /v1/aggregation/metric',
    {
      expect: [200, 200, 200, 200, 200, 403],
      call: async (fx, as) => call(as, 'POST', '/v1/aggregation/metric', [await fx.cpuMetricId()]),
    },
  ],
  // the resource form searches with `search resource` (one group per resource found), then reads
  // each found metric with `get metric`
  [
    'POST /v1/aggregation/resource/{type}/metric/{name}',
    {
      expect: ['sees', 'sees', 'sees', 'sees', 'sees', 'hidden'],
      call: async (fx, as) =>
        call(as, 'POST', '/v1/aggregation/resource/generic/metric/cpu?groupby=id', {
          '=': { id: await fx.resourceId() },
        }),
      sees: async (response, fx) => {
        const id = await fx.resourceId();
        return (response.json() as { group: { id: string } }[]).some((group) => group.group.id === id);
      },
    },
  ],
  // searching measures by value: `search metric` on each metric (no service)
  [
    'POST /v1/search/metric',
    {
      expect: [200, 403, 200, 200, 200, 403],
      call: async (fx, as) =>
        call(as, 'POST', `/v1/search/metric?metric_id=${await fx.cpuMetricId()}`, { '>=': 0 }),
    },
  ],

  // batches: post measures on each metric
  [
    'POST /v1/batch/metrics/measures',
    {
      expect: [202, 202, 202, 202, 403, 403],
      call: async (fx, as) =>
        call(as, 'POST', '/v1/batch/metrics/measures', { [await fx.cpuMetricId()]: MEASURES }),
    },
  ],
  [
    'POST /v1/batch/resources/metrics/measures',
    {
      expect: [202, 202, 202, 202, 403, 403],
      call: async (fx, as) =>
        call(as, 'POST', '/v1/batch/resources/metrics/measures', {
          [await fx.resourceId()]: { cpu: MEASURES },
        }),
    },
  ],

  // InfluxDB: CREATE DATABASE is `create resource type`; a write to an existing resource is
  // `update resource` on it, then `post measures` on each metric written
  ['GET /v1/influxdb/ping', { expect: ALL_OK(204), call: (_, as) => call(as, 'GET', '/v1/influxdb/ping') }],
  [
    'POST /v1/influxdb/query',
    {
      expect: [204, 204, 403, 403, 403, 403],
      call: (_, as) =>
        call(
          as,
          'POST',
          `/v1/influxdb/query?q=${encodeURIComponent(`create database "rt-${randomUUID()}"`)}`,
        ),
    },
  ],
  [
    'POST /v1/influxdb/write',
    {
      expect: [204, 204, 204, 204, 403, 403],
      // The metric `<rule>.f` gets its archive policy from the fixture rule `<rule>.*`.
      call: async (fx, as) =>
        callRaw(
          as,
          '/v1/influxdb/write?db=generic',
          'text/plain',
          `${await fx.ruleName()},host=${await fx.resourceId()} f=1 1767225600000000000`,
        ),
    },
  ],
  // Prometheus: each caller writes its own resource (its id is the UUIDv5 of `job@instance` with
  // the creator); the first write, the admin's, creates the `prometheus` type (admin or service:
  // see influxdb-prometheus.int.test.ts for a member's first write)
  [
    'POST /v1/prometheus/write',
    {
      expect: ALL_OK(202),
      call: async (fx, as) =>
        callRaw(
          as,
          '/v1/prometheus/write',
          'application/x-protobuf',
          snappyLiteral(
            writeRequest([
              {
                labels: [
                  ['__name__', `${await fx.ruleName()}.up`],
                  ['job', 'policy'],
                  ['instance', as],
                ],
                samples: [{ value: 1, timestampMs: 1767225600000 }],
              },
            ]),
          ),
        ),
    },
  ],
]);

describe('the tenancy matrix (policies.py)', () => {
  it('has a row for every route of the API', async () => {
    const document = (await call('admin', 'GET', '/openapi.json')).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.length).toBeGreaterThan(40);
    expect(routes.filter((route) => !MATRIX.has(route))).toEqual([]);
    expect([...MATRIX.keys()].filter((route) => !routes.includes(route))).toEqual([]);
  });

  for (const [route, row] of MATRIX) {
    it(route, async () => {
      const actual: Outcome[] = [];
      for (const who of EVERYONE) {
        const fx = fixtures();
        const response = await row.call(fx, who);
        const expected = row.expect[EVERYONE.indexOf(who)]!;
        if (typeof expected === 'number' || response.statusCode !== 200 || !row.sees) {
          actual.push(response.statusCode);
        } else {
          actual.push((await row.sees(response, fx)) ? 'sees' : 'hidden');
        }
      }
      expect(actual).toEqual(row.expect);
    });
  }
});

describe('metric theft (attaching a metric requires the resource creator)', () => {
  const victimMetric = async () => {
    const resource = await fixtures().resourceId();
    const listed = await call('creator', 'GET', `/v1/resource/generic/${resource}`);
    return { resource, metricId: listed.json().metrics.cpu as string };
  };
  const stillTheVictims = async (victim: { resource: string; metricId: string }) => {
    const metric = await call('creator', 'GET', `/v1/metric/${victim.metricId}`);
    expect(metric.json()).toMatchObject({ resource_id: victim.resource, name: 'cpu', creator: 'u1:PS' });
  };
  const refusedAsUnknown = (response: LightMyRequestResponse, metricId: string) => {
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().description).toBe(`Metric ${metricId} does not exist`);
  };

  it("refuses another creator's metric at resource creation", async () => {
    const victim = await victimMetric();
    for (const thief of ['other', 'resourceProject', 'admin'] as const) {
      const response = await call(thief, 'POST', '/v1/resource/generic', {
        id: randomUUID(),
        metrics: { stolen: victim.metricId },
      });
      refusedAsUnknown(response, victim.metricId);
    }
    await stillTheVictims(victim);
  });

  it("refuses it through PATCH metrics and POST …/metric, on the thief's own resource", async () => {
    const victim = await victimMetric();
    const own = await created(call('other', 'POST', '/v1/resource/generic', { id: randomUUID() }));
    refusedAsUnknown(
      await call('other', 'PATCH', `/v1/resource/generic/${own.id}`, {
        metrics: { stolen: victim.metricId },
      }),
      victim.metricId,
    );
    refusedAsUnknown(
      await call('other', 'POST', `/v1/resource/generic/${own.id}/metric`, { stolen: victim.metricId }),
      victim.metricId,
    );
    await stillTheVictims(victim);
    // Through the thief's resource the metric cannot be reached either.
    expect((await call('other', 'GET', `/v1/resource/generic/${own.id}/metric/stolen`)).statusCode).toBe(404);
  });

  it("still attaches a metric of the resource's own creator", async () => {
    const own = await created(call('creator', 'POST', '/v1/metric', { archive_policy_name: 'low' }));
    const resource = await created(
      call('creator', 'POST', '/v1/resource/generic', { id: randomUUID(), metrics: { mine: own.id } }),
    );
    expect(resource.metrics).toEqual({ mine: own.id });
  });

  it('gives metrics created through a resource the resource creator, whoever patches it', async () => {
    const resource = await fixtures().resourceId();
    const patched = await call('service', 'POST', `/v1/resource/generic/${resource}/metric`, {
      disk: { archive_policy_name: 'low' },
    });
    expect(patched.statusCode).toBe(200);
    const disk = patched.json().find((metric: { name: string }) => metric.name === 'disk');
    expect(disk.creator).toBe('u1:PS');
  });
});

describe('identity edge cases', () => {
  it('noauth without X-Project-Id is not unscoped: it matches only objects without a project', async () => {
    const resource = await fixtures().resourceId();
    const projectless = { 'x-user-id': 'u5' };
    expect((await call(projectless, 'GET', `/v1/resource/generic/${resource}`)).statusCode).toBe(403);
    const own = await created(call(projectless, 'POST', '/v1/resource/generic', { id: randomUUID() }));
    expect(own.creator).toBe('u5:');
    const listed = await call(projectless, 'GET', '/v1/resource/generic');
    expect(listed.statusCode).toBe(200);
    const ids = listed.json().map((r: { id: string }) => r.id);
    expect(ids).toContain(own.id);
    expect(ids).not.toContain(resource);
    // Gnocchi's filter for project None: `project_id = None OR creator = None`, nothing wider.
    expect(listed.json().every((r: { project_id: string | null }) => r.project_id === null)).toBe(true);
    const metrics = (await call(projectless, 'GET', '/v1/metric')).json();
    expect(metrics.map((m: { id: string }) => m.id)).not.toContain(await fixtures().cpuMetricId());
  });

  it('a metric without a resource is readable only by its creator side (no metric_owner)', async () => {
    const metric = await created(call('creator', 'POST', '/v1/metric', { archive_policy_name: 'low' }));
    expect((await call('sameProject', 'GET', `/v1/metric/${metric.id}`)).statusCode).toBe(200);
    expect((await call('resourceProject', 'GET', `/v1/metric/${metric.id}`)).statusCode).toBe(403);
    const listed = await call('resourceProject', 'GET', '/v1/metric');
    expect(listed.json().map((m: { id: string }) => m.id)).not.toContain(metric.id);
  });

  it('filters the resources an aggregates search reads by `search resource`', async () => {
    const resource = await fixtures().resourceId();
    const body = {
      operations: '(metric cpu mean)',
      resource_type: 'generic',
      search: { '=': { id: resource } },
    };
    expect((await call('resourceProject', 'POST', '/v1/aggregates?needed_overlap=0', body)).statusCode).toBe(
      200,
    );
    const other = await call('other', 'POST', '/v1/aggregates?needed_overlap=0', body);
    // Gnocchi: the search finds nothing for them, so no metric matches (NoSuchMetric, a 404).
    expect(other.statusCode).toBe(404);
  });
});

describe('basic auth (Gnocchi BasicAuthHelper)', () => {
  let basic: FastifyInstance;
  beforeAll(async () => {
    basic = await buildApi(
      { index: indexPort(index), logger: createLogger('policy-int', 'silent') },
      restConfig({ auth: { mode: 'basic' } }),
    );
  });
  afterAll(() => basic?.close());
  const as = (user: string) => ({ authorization: `basic ${Buffer.from(`${user}:`).toString('base64')}` });

  it('lists every resource unfiltered but enforces the rules on each object', async () => {
    const made = await basic.inject({
      method: 'POST',
      url: '/v1/resource/generic',
      headers: { ...as('alice'), 'content-type': 'application/json' },
      payload: JSON.stringify({ id: randomUUID(), project_id: 'PA' }),
    });
    expect(made.statusCode).toBe(201);
    const id = made.json().id;
    const list = await basic.inject({ method: 'GET', url: '/v1/resource/generic', headers: as('bob') });
    expect(list.json().map((r: { id: string }) => r.id)).toContain(id);
    // basic credentials carry no project: resource_owner never matches, only the user does.
    expect(
      (await basic.inject({ method: 'GET', url: `/v1/resource/generic/${id}`, headers: as('bob') }))
        .statusCode,
    ).toBe(403);
    expect(
      (await basic.inject({ method: 'GET', url: `/v1/resource/generic/${id}`, headers: as('alice') }))
        .statusCode,
    ).toBe(200);
    expect(
      (await basic.inject({ method: 'DELETE', url: `/v1/resource/generic/${id}`, headers: as('admin') }))
        .statusCode,
    ).toBe(204);
  });
});
