import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, FOOBAR, fakeIndex, fakeMeasures, testApi } from './helpers.ts';

const json = { 'content-type': 'application/json' };
const at = (time: string) => Date.parse(`2015-03-06T${time}Z`) * 1000;
const series = (rows: [string, number][]) => ({
  timestamps: Float64Array.from(rows, ([t]) => at(t)),
  values: Float64Array.from(rows, ([, v]) => v),
});

let app: FastifyInstance;
let ids: { m1: string; m2: string; m3: string };

beforeEach(async () => {
  // The reader answers every metric with the same stored series: enough to check the plumbing.
  const measures = fakeMeasures({
    60: series([
      ['14:33:00', 43.1],
      ['14:34:00', -2],
    ]),
    1: series([
      ['14:33:57', 43.1],
      ['14:34:12', 12],
    ]),
  });
  app = await testApi({}, fakeIndex(), measures.port);
  for (const [name, granularities] of [
    ['cookies', [1, 60]],
    ['cake', [5]],
  ] as const) {
    await app.inject({
      method: 'POST',
      url: '/v1/archive_policy',
      headers: { authorization: ADMIN, ...json },
      payload: { name, definition: granularities.map((granularity) => ({ granularity })) },
    });
  }
  const create = async (policy: string) =>
    (
      await app.inject({
        method: 'POST',
        url: '/v1/metric',
        headers: { authorization: FOOBAR, ...json },
        payload: { archive_policy_name: policy },
      })
    ).json().id as string;
  ids = { m1: await create('cookies'), m2: await create('cookies'), m3: await create('cake') };
});
afterEach(() => app.close());

const aggregates = (operations: unknown, query = '') =>
  app.inject({
    method: 'POST',
    url: `/v1/aggregates${query}`,
    headers: { authorization: FOOBAR, ...json },
    payload: { operations },
  });

describe('POST /v1/aggregates', () => {
  it('returns each referenced series by metric and method, with the metrics on details=true', async () => {
    const res = await aggregates(['metric', [ids.m1, 'mean'], [ids.m2, 'mean']], '?details=true');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    // Gnocchi's key order (AggregatesController.post builds measures, then adds references).
    expect(Object.keys(body)).toEqual(['measures', 'references']);
    expect(body.references.map((m: { id: string }) => m.id).sort()).toEqual([ids.m1, ids.m2].sort());
    expect(body.measures[ids.m1].mean).toEqual([
      ['2015-03-06T14:33:00+00:00', 60, 43.1],
      ['2015-03-06T14:34:00+00:00', 60, -2],
      ['2015-03-06T14:33:57+00:00', 1, 43.1],
      ['2015-03-06T14:34:12+00:00', 1, 12],
    ]);
  });

  it('returns a series referenced twice once', async () => {
    const res = await aggregates(['metric', [ids.m1, 'mean'], [ids.m1, 'mean']], '?granularity=60');
    expect(res.statusCode).toBe(200);
    expect(res.json().measures[ids.m1].mean).toEqual([
      ['2015-03-06T14:33:00+00:00', 60, 43.1],
      ['2015-03-06T14:34:00+00:00', 60, -2],
    ]);
  });

  it('reports combined series as "aggregated"', async () => {
    const res = await aggregates(
      `(aggregate sum (metric (${ids.m1} mean) (${ids.m2} mean)))`,
      '?granularity=60',
    );
    expect(res.json()).toEqual({
      measures: {
        aggregated: [
          ['2015-03-06T14:33:00+00:00', 60, 86.2],
          ['2015-03-06T14:34:00+00:00', 60, -4],
        ],
      },
    });
  });

  it('refuses unknown metrics and methods (404) and granularities that do not line up (400)', async () => {
    const unknown = await aggregates([
      'metric',
      [ids.m1, 'mean'],
      ['e4864464-1b27-4622-9fbb-dc900e06c192', 'mean'],
    ]);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().description).toMatchObject({
      cause: 'Unknown metrics',
      detail: ['e4864464-1b27-4622-9fbb-dc900e06c192'],
    });
    const method = await aggregates(['metric', [ids.m1, 'what?']]);
    expect(method.json().description).toMatchObject({
      cause: 'Metrics with unknown aggregation',
      detail: [[ids.m1, 'what?']],
    });
    const noMatch = await aggregates(['metric', [ids.m1, 'mean'], [ids.m3, 'mean']]);
    expect(noMatch.json().description).toMatchObject({ reason: 'No granularity match' });
    const missing = await aggregates(['metric', ids.m1, 'mean'], '?granularity=123');
    expect(missing.json().description).toEqual({
      cause: 'Metrics cannot be aggregated',
      reason: 'Granularities are missing',
      detail: [[ids.m1, 'mean', 123]],
    });
  });

  it('checks the query arguments before the body', async () => {
    const argument = async (query: string) =>
      (
        await app.inject({
          method: 'POST',
          url: `/v1/aggregates${query}`,
          headers: { authorization: FOOBAR, ...json },
        })
      ).json().description;
    expect(await argument('?start=notadate')).toMatchObject({
      cause: 'Argument value error',
      detail: 'start',
    });
    expect(await argument('?needed_overlap=notnumber')).toMatchObject({ reason: 'Must be a number' });
    expect(await argument('?granularity=foobar')).toMatchObject({ reason: 'Unable to parse timespan' });
    expect(await argument('?fill=foobar')).toMatchObject({ detail: 'fill' });
    expect((await aggregates('(metroc foo bar')).json().description).toMatchObject({
      cause: 'Invalid operations',
    });
    expect((await aggregates([])).json().description.reason).toMatch(/^Operation must not be empty/);
  });

  it("checks the resource form's body and that the operations read a metric before any search", async () => {
    const post = async (payload: unknown) =>
      (
        await app.inject({
          method: 'POST',
          url: '/v1/aggregates',
          headers: { authorization: FOOBAR, ...json },
          payload: payload as object,
        })
      ).json();
    expect(await post({ operations: '(metric cpu mean)', search: {} })).toMatchObject({
      code: 400,
      description: { reason: "required key not provided @ data['resource_type']", detail: ['resource_type'] },
    });
    expect(await post({ operations: '(metric cpu mean)', resource_type: 3 })).toMatchObject({
      code: 400,
      description: { reason: "expected str for dictionary value @ data['resource_type']" },
    });
    expect(await post({ operations: '(aggregate mean 3)', resource_type: 'generic' })).toEqual({
      code: 400,
      title: 'Bad Request',
      description: {
        cause: 'Operations is invalid',
        reason: "At least one 'metric' is required",
        detail: '(aggregate mean 3)',
      },
    });
  });
});

describe('legacy /v1/aggregation/metric', () => {
  const legacy = (query: string) =>
    app.inject({ method: 'GET', url: `/v1/aggregation/metric?${query}`, headers: { authorization: FOOBAR } });

  it('reaggregates the metrics into one series', async () => {
    const res = await legacy(
      `metric=${ids.m1}&metric=${ids.m2}&aggregation=mean&reaggregation=sum&granularity=60`,
    );
    expect(res.json()).toEqual([
      ['2015-03-06T14:33:00+00:00', 60, 86.2],
      ['2015-03-06T14:34:00+00:00', 60, -4],
    ]);
  });

  it('names the unknown metric and the unknown method', async () => {
    const unknown = await legacy('metric=cee6ef1f-52cc-4a16-bbb5-648aedfd1c37');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().description).toBe('Metric cee6ef1f-52cc-4a16-bbb5-648aedfd1c37 does not exist');
    const method = await legacy(`metric=${ids.m1}&aggregation=last`);
    expect(method.statusCode).toBe(404);
    expect(method.json().description).toMatchObject({
      cause: 'Aggregation method does not exist for this metric',
      detail: { metric: ids.m1, aggregation_method: 'last' },
    });
  });
});
