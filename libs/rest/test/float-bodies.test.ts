import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MeasuresPort, Points } from '../src/ports.ts';
import { ADMIN, fakeIndex, testApi } from './helpers.ts';

/**
 * Bodies with measures rows, byte for byte as Gnocchi 4.7.1 wrote them (granularity and values as
 * Python's floats: `60.0`, `1e-05`, `1e+17`). The expected texts are the real Gnocchi's answers
 * (tools/gnocchi-oracle) for an archive policy of 1 s and 60 s and these two metrics' measures:
 *   first:  2024-01-01T00:00:00 5, 00:00:01 0.00001, 00:01:02 1e17
 *   second: 2024-01-01T00:00:00 2, 00:00:01 3.5,     00:01:02 -4
 * with the metric ids written FIRST and SECOND; error bodies whole, envelope included.
 */

const json = { 'content-type': 'application/json' };
const at = (time: string) => Date.parse(`2024-01-01T${time}Z`) * 1000;
const series = (rows: [string, number][]): Points => ({
  timestamps: Float64Array.from(rows, ([t]) => at(t)),
  values: Float64Array.from(rows, ([, v]) => v),
});
// What Gnocchi's metricd stored (mean) from those measures, by granularity.
const STORED = {
  first: {
    60: series([
      ['00:00:00', 2.500005],
      ['00:01:00', 1e17],
    ]),
    1: series([
      ['00:00:00', 5],
      ['00:00:01', 1e-5],
      ['00:01:02', 1e17],
    ]),
  },
  second: {
    60: series([
      ['00:00:00', 2.75],
      ['00:01:00', -4],
    ]),
    1: series([
      ['00:00:00', 2],
      ['00:00:01', 3.5],
      ['00:01:02', -4],
    ]),
  },
} as const;

const FIRST_ROWS =
  '[["2024-01-01T00:00:00+00:00", 60.0, 2.500005], ["2024-01-01T00:01:00+00:00", 60.0, 1e+17], ["2024-01-01T00:00:00+00:00", 1.0, 5.0], ["2024-01-01T00:00:01+00:00", 1.0, 1e-05], ["2024-01-01T00:01:02+00:00", 1.0, 1e+17]]';
const SECOND_ROWS =
  '[["2024-01-01T00:00:00+00:00", 60.0, 2.75], ["2024-01-01T00:01:00+00:00", 60.0, -4.0], ["2024-01-01T00:00:00+00:00", 1.0, 2.0], ["2024-01-01T00:00:01+00:00", 1.0, 3.5], ["2024-01-01T00:01:02+00:00", 1.0, -4.0]]';
const MEAN_ROWS =
  '[["2024-01-01T00:00:00+00:00", 60.0, 2.6250025], ["2024-01-01T00:01:00+00:00", 60.0, 5e+16], ["2024-01-01T00:00:00+00:00", 1.0, 3.5], ["2024-01-01T00:00:01+00:00", 1.0, 1.750005], ["2024-01-01T00:01:02+00:00", 1.0, 5e+16]]';

let app: FastifyInstance;
let first: string;
let second: string;

/** Answers each metric with its own stored series (the ids are known once the metrics exist). */
function measuresById(byId: Map<string, Record<number, Points>>): MeasuresPort {
  const empty = { timestamps: new Float64Array(), values: new Float64Array() };
  return {
    writer: { write: async () => {} },
    reader: {
      read: async (query) =>
        query.granularities.map((g) => ({
          granularitySeconds: g,
          points: byId.get(query.metric.id)?.[g] ?? empty,
        })),
    },
  };
}

beforeEach(async () => {
  const byId = new Map<string, Record<number, Points>>();
  app = await testApi({}, fakeIndex(), measuresById(byId));
  await app.inject({
    method: 'POST',
    url: '/v1/archive_policy',
    headers: { authorization: ADMIN, ...json },
    payload: {
      name: 'fb1',
      back_window: 0,
      definition: [
        { granularity: '1s', points: 100 },
        { granularity: '60s', points: 10 },
      ],
      aggregation_methods: ['mean', 'max', 'count'],
    },
  });
  const create = async () =>
    (
      await app.inject({
        method: 'POST',
        url: '/v1/metric',
        headers: { authorization: ADMIN, ...json },
        payload: { archive_policy_name: 'fb1' },
      })
    ).json().id as string;
  first = await create();
  second = await create();
  byId.set(first, STORED.first);
  byId.set(second, STORED.second);
});
afterEach(() => app.close());

const post = (url: string, payload: unknown) =>
  app.inject({ method: 'POST', url, headers: { authorization: ADMIN, ...json }, payload: payload as object });
const get = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: ADMIN } });
const named = (text: string) => text.replaceAll('FIRST', first).replaceAll('SECOND', second);

describe('POST /v1/aggregates prints floats as Gnocchi', () => {
  it('writes each series by metric and method', async () => {
    const res = await post('/v1/aggregates', {
      operations: ['metric', [first, 'mean'], [second, 'mean']],
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(
      named(`{"measures": {"FIRST": {"mean": ${FIRST_ROWS}}, "SECOND": {"mean": ${SECOND_ROWS}}}}`),
    );
  });

  it('writes the aggregated series', async () => {
    const res = await post('/v1/aggregates', {
      operations: ['aggregate', 'mean', ['metric', [first, 'mean'], [second, 'mean']]],
    });
    expect(res.body).toBe(`{"measures": {"aggregated": ${MEAN_ROWS}}}`);
  });

  it('writes a resampled granularity as a float', async () => {
    const res = await post('/v1/aggregates?granularity=1', {
      operations: ['resample', 'mean', '2s', ['metric', [first, 'mean']]],
    });
    expect(res.body).toBe(
      named(
        '{"measures": {"FIRST": {"mean": [["2024-01-01T00:00:00+00:00", 2.0, 2.500005], ["2024-01-01T00:01:02+00:00", 2.0, 1e+17]]}}}',
      ),
    );
  });

  it('names a missing granularity as a float', async () => {
    const res = await post('/v1/aggregates?granularity=7', { operations: ['metric', [first, 'mean']] });
    expect(res.statusCode).toBe(400);
    expect(res.body).toBe(
      named(
        '{"code": 400, "title": "Bad Request", "description": {"cause": "Metrics cannot be aggregated", "reason": "Granularities are missing", "detail": [["FIRST", "mean", 7.0]]}}',
      ),
    );
  });
});

describe('/v1/aggregation prints floats as Gnocchi', () => {
  it('writes the metrics reduced', async () => {
    const res = await get(`/v1/aggregation/metric?metric=${first}&metric=${second}`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(MEAN_ROWS);
  });

  it('writes one metric as stored', async () => {
    const res = await get(`/v1/aggregation/metric?metric=${first}`);
    expect(res.body).toBe(FIRST_ROWS);
  });

  it('writes a resample granularity as a float', async () => {
    const res = await get(
      `/v1/aggregation/metric?metric=${first}&metric=${second}&granularity=60&resample=120&fill=0`,
    );
    expect(res.body).toBe('[["2024-01-01T00:00:00+00:00", 120.0, 2.5e+16]]');
  });
});

describe('POST /v1/search/metric prints floats as Gnocchi', () => {
  it('writes the matching points', async () => {
    const res = await post(`/v1/search/metric?metric_id=${second}`, { '>=': 0 });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(
      named(
        '{"SECOND": [["2024-01-01T00:00:00+00:00", 60.0, 2.75], ["2024-01-01T00:00:00+00:00", 1.0, 2.0], ["2024-01-01T00:00:01+00:00", 1.0, 3.5]]}',
      ),
    );
  });

  it('names a missing granularity as a float', async () => {
    const res = await post(`/v1/search/metric?metric_id=${first}&granularity=7`, { '>=': 0 });
    expect(res.statusCode).toBe(400);
    expect(res.body).toBe(
      '{"code": 400, "title": "Bad Request", "description": {"cause": "Aggregation does not exist", "detail": {"granularity": 7.0, "aggregation_method": "mean"}}}',
    );
  });
});
