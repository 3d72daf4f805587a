import { pythonJson } from '@granary/python-format';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { IndexPort, ResourceType } from '../src/ports.ts';
import { formatResource } from '../src/routes/resources.ts';
import { ADMIN, fakeIndex, testApi } from './helpers.ts';

/*
 * Gnocchi 4.7.1 writes its bodies in its dicts' insertion order. The expected bodies below are
 * what a real Gnocchi 4.7.1 (tools/gnocchi-oracle) answered, byte for byte.
 */

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const json = { 'content-type': 'application/json' };

// As PostgreSQL's jsonb hands them back: keys by length, then bytes.
const thing: ResourceType = {
  name: 'thing',
  state: 'active',
  attributes: {
    host: { max_length: 256, min_length: 0, type: 'string', required: true },
    size: { max: null, min: null, type: 'number', required: false },
    flag: { type: 'bool', required: false },
    when: { type: 'datetime', required: false },
    ref: { type: 'uuid', required: false },
  } as unknown as ResourceType['attributes'],
};

const micros = (iso: string, fraction: number) => Date.parse(iso) * 1000 + fraction;

const thingResource = {
  id: '22222222-1111-1111-1111-111111111111',
  type: 'thing',
  creator: 'admin',
  originalResourceId: '22222222-1111-1111-1111-111111111111',
  startedAt: micros('2026-12-04T09:54:39Z', 123482),
  endedAt: null,
  userId: null,
  projectId: null,
  revisionStart: micros('2026-12-04T09:54:39Z', 123487),
  revisionEnd: null,
  revision: -1,
  attributes: { host: 'h', size: 3, flag: true, when: null, ref: null },
  metrics: { cpu: '8860c117-809c-4c8c-9a2b-8ff70d2b08fd' },
};

describe("bodies in Gnocchi's key order", () => {
  it('writes a typed resource as GET /v1/resource/<type>/<id> does', () => {
    expect(pythonJson(formatResource(thingResource, thing))).toBe(
      '{"id": "22222222-1111-1111-1111-111111111111", "creator": "admin", "started_at": "2026-12-04T09:54:39.123482+00:00", "revision_start": "2026-12-04T09:54:39.123487+00:00", "ended_at": null, "user_id": null, "project_id": null, "original_resource_id": "22222222-1111-1111-1111-111111111111", "type": "thing", "host": "h", "size": 3.0, "flag": true, "when": null, "ref": null, "revision_end": null, "metrics": {"cpu": "8860c117-809c-4c8c-9a2b-8ff70d2b08fd"}, "created_by_user_id": "admin", "created_by_project_id": ""}',
    );
  });

  it('writes a generic resource as GET /v1/resource/generic/<id> does', () => {
    const generic = { ...thingResource, type: 'generic', attributes: {}, userId: 'u', projectId: 'p' };
    const genericType: ResourceType = { name: 'generic', state: 'active', attributes: {} };
    expect(pythonJson(formatResource(generic, genericType))).toBe(
      '{"id": "22222222-1111-1111-1111-111111111111", "creator": "admin", "started_at": "2026-12-04T09:54:39.123482+00:00", "revision_start": "2026-12-04T09:54:39.123487+00:00", "ended_at": null, "user_id": "u", "project_id": "p", "original_resource_id": "22222222-1111-1111-1111-111111111111", "type": "generic", "revision_end": null, "metrics": {"cpu": "8860c117-809c-4c8c-9a2b-8ff70d2b08fd"}, "created_by_user_id": "admin", "created_by_project_id": ""}',
    );
  });

  it('writes a revision as GET …/history and ?history=true do, revision_end second', () => {
    const revision = { ...thingResource, revisionEnd: micros('2026-12-04T09:55:09Z', 830679), revision: 1 };
    expect(pythonJson(formatResource(revision, thing, { revision: true }))).toBe(
      '{"id": "22222222-1111-1111-1111-111111111111", "revision_end": "2026-12-04T09:55:09.830679+00:00", "creator": "admin", "started_at": "2026-12-04T09:54:39.123482+00:00", "revision_start": "2026-12-04T09:54:39.123487+00:00", "ended_at": null, "user_id": null, "project_id": null, "original_resource_id": "22222222-1111-1111-1111-111111111111", "type": "thing", "host": "h", "size": 3.0, "flag": true, "when": null, "ref": null, "metrics": {"cpu": "8860c117-809c-4c8c-9a2b-8ff70d2b08fd"}, "created_by_user_id": "admin", "created_by_project_id": ""}',
    );
  });

  it('writes a resource type with its attribute options in their schema order', async () => {
    const index = fakeIndex();
    const withThing: IndexPort = {
      ...index,
      resourceTypes: { ...index.resourceTypes, get: async (name) => (name === 'thing' ? thing : undefined) },
    };
    app = await testApi({}, withThing);
    const res = await app.inject({ url: '/v1/resource_type/thing', headers: { authorization: ADMIN } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(
      '{"name": "thing", "attributes": {"host": {"type": "string", "required": true, "max_length": 256, "min_length": 0}, "size": {"type": "number", "required": false, "min": null, "max": null}, "flag": {"type": "bool", "required": false}, "when": {"type": "datetime", "required": false}, "ref": {"type": "uuid", "required": false}}, "state": "active"}',
    );
  });

  it('writes an archive policy rule as POST /v1/archive_policy_rule does', async () => {
    app = await testApi();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/archive_policy_rule',
      headers: { authorization: ADMIN, ...json },
      payload: { name: 'r1', archive_policy_name: 'low', metric_pattern: 'disk.*' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.body).toBe('{"name": "r1", "archive_policy_name": "low", "metric_pattern": "disk.*"}');
  });

  it('writes a metric in the order of Metric.jsonify', async () => {
    app = await testApi();
    const policy = { name: 'low', definition: [{ granularity: '5 minutes', points: 8640 }] };
    const headers = { authorization: ADMIN, ...json };
    await app.inject({ method: 'POST', url: '/v1/archive_policy', headers, payload: policy });
    const created = await app.inject({
      method: 'POST',
      url: '/v1/metric',
      headers,
      payload: { archive_policy_name: 'low', name: 'm0', unit: 'B' },
    });
    expect(created.statusCode).toBe(201);
    // Gnocchi answers `resource_id` or the loaded `resource`, `archive_policy_name` or the loaded
    // `archive_policy`, at these places: Granary always writes the id and both policy fields.
    const order = [
      'id',
      'creator',
      'name',
      'unit',
      'resource_id',
      'archive_policy',
      'archive_policy_name',
      'created_by_user_id',
      'created_by_project_id',
    ];
    expect(Object.keys(created.json())).toEqual(order);
    const read = await app.inject({ url: `/v1/metric/${created.json().id}`, headers });
    expect(Object.keys(read.json())).toEqual(order);
  });
});
