import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_QUERY_NODES } from '../src/measure-query.ts';
import { MAX_SEARCH_COST } from '../src/routes/search-metric.ts';
import { ADMIN, FOOBAR, fakeIndex, fakeMeasures, testApi } from './helpers.ts';

const json = { 'content-type': 'application/json' };
// One point a second from 2015-03-06T00:00:00Z: enough points for a search to exceed its cost bound.
const START = Date.parse('2015-03-06T00:00:00Z') * 1000;
const POINTS = Math.ceil(MAX_SEARCH_COST / MAX_QUERY_NODES) + 1;
const SECONDS = {
  timestamps: Float64Array.from({ length: POINTS }, (_, i) => START + i * 1e6),
  values: Float64Array.from({ length: POINTS }, (_, i) => i),
};

let app: FastifyInstance;
let measures: ReturnType<typeof fakeMeasures>;
let ids: { a: string; b: string };

beforeEach(async () => {
  measures = fakeMeasures({ 1: SECONDS });
  app = await testApi({}, fakeIndex(), measures.port);
  await app.inject({
    method: 'POST',
    url: '/v1/archive_policy',
    headers: { authorization: ADMIN, ...json },
    payload: { name: 'seconds', definition: [{ granularity: 1, points: POINTS }] },
  });
  const create = async () =>
    (
      await app.inject({
        method: 'POST',
        url: '/v1/metric',
        headers: { authorization: FOOBAR, ...json },
        payload: { archive_policy_name: 'seconds' },
      })
    ).json().id as string;
  ids = { a: await create(), b: await create() };
});
afterEach(() => app.close());

const post = (url: string, payload?: unknown) =>
  app.inject({
    method: 'POST',
    url,
    headers: { authorization: FOOBAR, ...json },
    ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
  });

describe('/v1/aggregation/metric', () => {
  it('refuses ids that are not UUIDs, in the query and in the POST list', async () => {
    const get = await app.inject({
      method: 'GET',
      url: `/v1/aggregation/metric?metric=${ids.a}&metric=foobar`,
      headers: { authorization: FOOBAR },
    });
    expect(get.statusCode).toBe(400);
    expect(get.json().description).toBe('Invalid input: not a valid value @ data[1]');
    const listed = await post('/v1/aggregation/metric', [ids.a, 12]);
    expect(listed.statusCode).toBe(400);
    expect(listed.json().description).toMatchObject({ reason: 'not a valid value @ data[1]', detail: ['1'] });
    expect((await post('/v1/aggregation/metric', { metric: ids.a })).statusCode).toBe(400);
  });

  it('answers an empty list for no metric at all, as Gnocchi', async () => {
    const none = await app.inject({
      method: 'GET',
      url: '/v1/aggregation/metric',
      headers: { authorization: FOOBAR },
    });
    expect(none.json()).toEqual([]);
  });

  it('resamples by calendar month, one metric as stored and several reduced', async () => {
    const month = [['2015-03-01T00:00:00+00:00', 'M', (POINTS - 1) / 2]];
    const one = await post('/v1/aggregation/metric?granularity=1&resample=M', [ids.a]);
    expect(one.json()).toEqual(month);
    const two = await post('/v1/aggregation/metric?granularity=1&resample=M&reaggregation=sum', [
      ids.a,
      ids.b,
    ]);
    expect(two.json()).toEqual([['2015-03-01T00:00:00+00:00', 'M', POINTS - 1]]);
  });

  // Gnocchi 4.7.1's answers: b has gaps at :01 and :04, which its resample keeps (NaN) in the
  // bucket, so b's week is NaN and the nan-aware reaggregation gives a's mean alone.
  it('resamples the aligned series with their gaps, as Gnocchi', async () => {
    // One value a second from START, null where the metric has no point.
    const everySecond = (values: (number | null)[]) => {
      const seconds = [...values.keys()].filter((s) => values[s] !== null);
      return {
        timestamps: Float64Array.from(seconds, (s) => START + s * 1e6),
        values: Float64Array.from(seconds, (s) => values[s]!),
      };
    };
    const byMetric = new Map([
      [ids.a, everySecond([1, 2, 4, 8, 16, 32])],
      [ids.b, everySecond([10, null, 30, 40, null, 60])],
    ]);
    measures.port.reader!.read = async (query) =>
      query.granularities.map((granularitySeconds) => ({
        granularitySeconds,
        points: byMetric.get(query.metric.id)!,
      }));
    const values = async (query: string) =>
      (await post(`/v1/aggregation/metric?granularity=1&needed_overlap=0&${query}`, [ids.a, ids.b]))
        .json()
        .map(([, , value]: [string, unknown, number]) => value);
    for (const fill of ['&fill=null', '&fill=dropna', '']) {
      expect(await values(`resample=W${fill}`)).toEqual([10.5]);
      expect(await values(`resample=3${fill}`)).toEqual([2.3333333333333335, 18.666666666666668]);
    }
    expect(await values('resample=W&fill=0')).toEqual([16.916666666666664]);
    expect(await values('resample=3&fill=0')).toEqual([7.833333333333334, 26]);
  });
});

describe('POST /v1/search/metric', () => {
  it(`refuses a search over more than ${MAX_SEARCH_COST} query nodes × points, whatever the query`, async () => {
    const wide = { or: Array.from({ length: MAX_QUERY_NODES - 1 }, (_, i) => ({ '=': -i - 1 })) };
    const tooCostly = await post(`/v1/search/metric?metric_id=${ids.a}`, wide);
    expect(tooCostly.statusCode).toBe(400);
    expect(tooCostly.json().description).toMatchObject({ cause: 'Search too costly' });
    // The same points with a one-node query are searched.
    const simple = await post(`/v1/search/metric?metric_id=${ids.a}`, { '<': 2 });
    expect(simple.json()).toEqual({
      [ids.a]: [
        ['2015-03-06T00:00:00+00:00', 1, 0],
        ['2015-03-06T00:00:01+00:00', 1, 1],
      ],
    });
  });

  it('refuses a metric the caller may not search, before reading anything', async () => {
    const other = await app.inject({
      method: 'POST',
      url: `/v1/search/metric?metric_id=${ids.a}`,
      headers: { authorization: `basic ${Buffer.from('foobaz:').toString('base64')}`, ...json },
      payload: JSON.stringify({ '=': 1 }),
    });
    expect(other.statusCode).toBe(403);
    expect(measures.queries).toEqual([]);
  });
});
