import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, FOOBAR, testApi } from './helpers.ts';

const json = { 'content-type': 'application/json' };
let app: FastifyInstance;

beforeEach(async () => {
  app = await testApi({ maxLimit: 2 });
  await app.inject({
    method: 'POST',
    url: '/v1/archive_policy',
    headers: { authorization: ADMIN, ...json },
    payload: { name: 'low', definition: [{ granularity: 300, points: 12 }] },
  });
});
afterEach(() => app.close());

const createMetric = (authorization: string, payload: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: '/v1/metric', headers: { authorization, ...json }, payload });

describe('metrics', () => {
  it('creates a metric owned by the caller, with its location and policy', async () => {
    const res = await createMetric(FOOBAR, { archive_policy_name: 'low', name: 'cpu', unit: 'ns' });
    expect(res.statusCode).toBe(201);
    const metric = res.json();
    expect(res.headers.location).toBe(`http://localhost:80/v1/metric/${metric.id}`);
    expect(metric).toMatchObject({
      archive_policy_name: 'low',
      archive_policy: {
        name: 'low',
        definition: [{ granularity: '0:05:00', points: 12, timespan: '1:00:00' }],
      },
      creator: 'foobar',
      created_by_user_id: 'foobar',
      created_by_project_id: '',
      name: 'cpu',
      unit: 'ns',
    });
  });

  it('refuses a resource id without a name, and units over 31 characters, as Gnocchi words it', async () => {
    const noName = await createMetric(FOOBAR, { archive_policy_name: 'low', resource_id: 'r1' });
    expect(noName.statusCode).toBe(400);
    expect(noName.json().description).toEqual({
      cause: 'Attribute value error',
      reason: 'Name cannot be null if resource_id is not null',
      detail: 'name',
    });
    const longUnit = await createMetric(FOOBAR, { archive_policy_name: 'low', unit: 'u'.repeat(32) });
    expect(longUnit.json().description).toEqual({
      cause: 'Invalid input',
      reason: "length of value must be at most 31 for dictionary value @ data['unit']",
      detail: ['unit'],
    });
  });

  it("hides other users' metrics (403) and deleted ones (404)", async () => {
    const { id } = (await createMetric(ADMIN, { archive_policy_name: 'low' })).json();
    expect(
      (await app.inject({ method: 'GET', url: `/v1/metric/${id}`, headers: { authorization: FOOBAR } }))
        .statusCode,
    ).toBe(403);
    expect(
      (await app.inject({ method: 'DELETE', url: `/v1/metric/${id}`, headers: { authorization: ADMIN } }))
        .statusCode,
    ).toBe(204);
    const gone = await app.inject({
      method: 'GET',
      url: `/v1/metric/${id}`,
      headers: { authorization: ADMIN },
    });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().description).toBe(`Metric ${id} does not exist`);
  });

  it('pages with the max limit and links the next page with sorted, encoded parameters', async () => {
    for (let i = 0; i < 3; i++) await createMetric(FOOBAR, { archive_policy_name: 'low', name: 'm' });
    const res = await app.inject({
      method: 'GET',
      url: '/v1/metric?sort=id:asc&name=m',
      headers: { authorization: FOOBAR },
    });
    const page = res.json();
    expect(page).toHaveLength(2);
    expect(res.headers.link).toBe(
      `<http://localhost:80/v1/metric?limit=2&marker=${page[1].id}&name=m&sort=id%3Aasc>; rel="next"`,
    );
    for (const limit of ['-2', 'invalid', '0']) {
      const bad = await app.inject({
        method: 'GET',
        url: `/v1/metric?limit=${limit}`,
        headers: { authorization: FOOBAR },
      });
      expect(bad.statusCode).toBe(400);
    }
  });
});
