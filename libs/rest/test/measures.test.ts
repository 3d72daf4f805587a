import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, FOOBAR, fakeIndex, fakeMeasures, testApi } from './helpers.ts';

const json = { 'content-type': 'application/json' };
const at = (iso: string) => Date.parse(`${iso}Z`) * 1000;
let app: FastifyInstance;
afterEach(() => app.close());

async function setUp(measures?: ReturnType<typeof fakeMeasures>) {
  app = await testApi({}, fakeIndex(), measures?.port);
  await app.inject({
    method: 'POST',
    url: '/v1/archive_policy',
    headers: { authorization: ADMIN, ...json },
    payload: { name: 'cookies', definition: [{ granularity: 1 }, { granularity: 60 }] },
  });
  const metric = await app.inject({
    method: 'POST',
    url: '/v1/metric',
    headers: { authorization: FOOBAR, ...json },
    payload: { archive_policy_name: 'cookies' },
  });
  return metric.json().id as string;
}

const post = (id: string, payload: unknown) =>
  app.inject({
    method: 'POST',
    url: `/v1/metric/${id}/measures`,
    headers: { authorization: FOOBAR, ...json },
    payload: JSON.stringify(payload),
  });
const get = (id: string, query: string) =>
  app.inject({
    method: 'GET',
    url: `/v1/metric/${id}/measures?${query}`,
    headers: { authorization: FOOBAR },
  });

describe('writing measures', () => {
  it('accepts ISO, epoch and numeric text, answers 202 with no body once written', async () => {
    const measures = fakeMeasures();
    const id = await setUp(measures);
    const dates = await post(id, [
      { timestamp: '2015-03-06T14:33:57', value: 43.1 },
      { timestamp: '2015-03-06T14:34:12+01:00', value: 1 },
    ]);
    expect(dates.statusCode).toBe(202);
    expect(dates.body).toBe('');
    const epochs = await post(id, [
      { timestamp: 1425652452.5, value: '12' },
      { timestamp: '1425652453', value: 2 },
    ]);
    expect(epochs.statusCode).toBe(202);
    expect(measures.written).toEqual([
      {
        metric_id: id,
        timestamps: [at('2015-03-06T14:33:57'), at('2015-03-06T13:34:12')],
        values: [43.1, 1],
      },
      { metric_id: id, timestamps: [1425652452_500_000, 1425652453_000_000], values: [12, 2] },
    ]);
  });

  it("refuses a list mixing timestamp forms, as Gnocchi reads them all in the first one's form", async () => {
    const measures = fakeMeasures();
    const id = await setUp(measures);
    const mixed = [
      [1478012832, '-5 minutes'],
      ['-5 minutes', '2015-03-06T14:33:57'],
      ['2015-03-06T14:33:57', 1425652452.5],
      ['now', '1425652452'],
    ];
    for (const [first, second] of mixed) {
      const res = await post(id, [
        { timestamp: first, value: 1 },
        { timestamp: second, value: 2 },
      ]);
      expect(res.statusCode, `${first} then ${second}`).toBe(400);
      expect(res.json().description).toEqual({
        cause: 'Invalid input',
        reason: "unexpected timestamp 'Unable to convert timestamps'",
        detail: [],
      });
    }
    expect(measures.written).toEqual([]);
    const relative = await post(id, [
      { timestamp: '-5 minutes', value: 1 },
      { timestamp: '+1 hour', value: 2 },
    ]);
    expect(relative.statusCode).toBe(202);
  });

  it('refuses the whole list when one measure is bad, writing nothing', async () => {
    const measures = fakeMeasures();
    const id = await setUp(measures);
    const cases: [unknown, string][] = [
      [
        [
          { timestamp: '2015-03-06T14:33:57', value: 1 },
          { timestamp: '1915-03-06T14:33:57', value: 2 },
        ],
        'Timestamp must be after Epoch',
      ],
      [[['2015-03-06T14:33:57', 43.1]], 'unexpected measures format'],
      [1, 'unexpected measures format'],
      [[{ timestamp: '2015-03-06T14:33:57', value: 'foobar' }], 'unexpected measures format'],
      [[{ timestamp: '2015-03-06T14:33:57', value: 'nan' }], 'NaN and infinite values are not accepted: nan'],
      [
        [{ timestamp: '2300-01-01T00:00:00', value: 1 }],
        'Timestamp 2300-01-01T00:00:00 is too far in the future',
      ],
    ];
    for (const [payload, reason] of cases) {
      const res = await post(id, payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().description).toEqual({ cause: 'Invalid input', reason, detail: [] });
    }
    expect(measures.written).toEqual([]);
  });

  it('answers 404 for an unknown metric, and 503 for valid input when no measure storage is wired', async () => {
    const id = await setUp();
    expect((await post('fake', [{ timestamp: '2015-03-06T14:33:57', value: 1 }])).statusCode).toBe(404);
    expect((await post(id, [{ timestamp: '1915-03-06T14:33:57', value: 1 }])).statusCode).toBe(400);
    expect((await post(id, [{ timestamp: '2015-03-06T14:33:57', value: 1 }])).statusCode).toBe(503);
  });
});

describe('reading measures', () => {
  const stored = {
    1: {
      timestamps: Float64Array.from(['14:33:57', '14:34:12', '14:34:15'], (t) => at(`2015-03-06T${t}`)),
      values: Float64Array.from([43.1, 12, 16]),
    },
    60: { timestamps: Float64Array.from([at('2015-03-06T14:33:00')]), values: Float64Array.from([43.1]) },
  };

  it('lists [timestamp, granularity, value], coarsest granularity first, and passes the query on', async () => {
    const measures = fakeMeasures(stored);
    const id = await setUp(measures);
    const res = await get(id, 'refresh=true&start=2015-03-06T14:00:00');
    expect(res.json()).toEqual([
      ['2015-03-06T14:33:00+00:00', 60, 43.1],
      ['2015-03-06T14:33:57+00:00', 1, 43.1],
      ['2015-03-06T14:34:12+00:00', 1, 12],
      ['2015-03-06T14:34:15+00:00', 1, 16],
    ]);
    expect(measures.queries[0]).toMatchObject({
      aggregation: 'mean',
      granularities: [1, 60],
      start: at('2015-03-06T14:00:00'),
      refresh: true,
    });
  });

  it('resamples one granularity', async () => {
    const id = await setUp(fakeMeasures(stored));
    const res = await get(id, 'granularity=1&resample=60');
    expect(res.json()).toEqual([
      ['2015-03-06T14:33:00+00:00', 60, 43.1],
      ['2015-03-06T14:34:00+00:00', 60, 14],
    ]);
  });

  it('refuses unknown methods and granularities, unreadable arguments, resample without granularity', async () => {
    const id = await setUp(fakeMeasures(stored));
    const unknownMethod = await get(id, 'aggregation=wtf');
    expect(unknownMethod.statusCode).toBe(404);
    expect(unknownMethod.json().description).toMatchObject({
      cause: 'Aggregation method does not exist for this metric',
      detail: { metric: id, aggregation_method: 'wtf' },
    });
    expect((await get(id, 'granularity=5')).json()).toEqual({
      code: 404,
      title: 'Not Found',
      description: `Aggregation method 'mean' at granularity '5.0' for metric ${id} does not exist`,
    });
    expect((await get(id, 'granularity=0.5')).json().description).toBe(
      `Aggregation method 'mean' at granularity '0.5' for metric ${id} does not exist`,
    );
    expect((await get(id, 'granularity=foobar')).json().description).toEqual({
      cause: 'Argument value error',
      reason: 'Unable to parse timespan',
      detail: 'granularity',
    });
    expect((await get(id, 'start=notadate')).json().description).toMatchObject({ detail: 'start' });
    expect((await get(id, 'resample=60')).json().description).toBe(
      'A granularity must be specified to resample',
    );
    expect((await get(id, 'granularity=1&resample=abc')).statusCode).toBe(400);
  });
});
