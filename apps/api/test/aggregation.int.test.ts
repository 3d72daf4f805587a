import { type ReadStack, callApi, startReadStack } from '@granary/testing/api-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Gnocchi's deprecated `/v1/aggregation/*` endpoints and `POST /v1/search/metric` through the real
 * stack: resources in the real index, measures written through the API, processed by a real
 * processor and read back from the filesystem store.
 */

const PROJECT_A = '0aaaaaaa-0000-4000-8000-000000000001';
const PROJECT_B = '0bbbbbbb-0000-4000-8000-000000000002';
const USER = 'a1111111-0000-4000-8000-000000000001';

let stack: ReadStack;
/** The cpu metric id of each resource, by resource name. */
const cpu: Record<string, string> = {};
const resourceIds: Record<string, string> = {};

const call = (method: string, path: string, body?: unknown) => callApi(stack, method, path, body);

const at = (time: string, granularity: number, value: number) => [
  `2024-05-01T${time}+00:00`,
  granularity,
  value,
];

beforeAll(async () => {
  stack = await startReadStack('api-aggregation');
  await stack.startProcessor(3_600_000);
  const policy = await call('POST', '/v1/archive_policy', {
    name: 'two',
    aggregation_methods: ['mean', 'max'],
    definition: [
      { granularity: 1, points: 3600 },
      { granularity: 60, points: 1440 },
    ],
  });
  expect(policy.status).toBe(201);
  for (const [name, project, values] of [
    ['web-1', PROJECT_A, [10, 20, 30]],
    ['web-2', PROJECT_A, [30, 40, 50]],
    ['db-1', PROJECT_B, [100, 200, 300]],
  ] as const) {
    const created = await call('POST', '/v1/resource/generic', {
      id: name,
      project_id: project,
      user_id: USER,
      metrics: { cpu: { archive_policy_name: 'two' } },
    });
    expect(created.status).toBe(201);
    const resource = created.body as { id: string; metrics: Record<string, string> };
    resourceIds[name] = resource.id;
    cpu[name] = resource.metrics.cpu!;
    const posted = await call(
      'POST',
      `/v1/metric/${cpu[name]}/measures`,
      ['12:00:10', '12:00:40', '12:01:10'].map((time, i) => ({
        timestamp: `2024-05-01T${time}Z`,
        value: values[i],
      })),
    );
    expect(posted.status).toBe(202);
  }
  // The first read asks the processor to checkpoint every metric written; the others read stored data.
  const fresh = await call('POST', '/v1/aggregation/resource/generic/metric/cpu?refresh=true');
  expect(fresh.status).toBe(200);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('/v1/aggregation/metric', () => {
  it('reduces the metrics with reaggregation, at the granularities they share, coarsest first', async () => {
    const answer = await call(
      'GET',
      `/v1/aggregation/metric?metric=${cpu['web-1']}&metric=${cpu['web-2']}&reaggregation=max`,
    );
    expect(answer).toEqual({
      status: 200,
      body: [
        at('12:00:00', 60, 35),
        at('12:01:00', 60, 50),
        at('12:00:10', 1, 30),
        at('12:00:40', 1, 40),
        at('12:01:10', 1, 50),
      ],
    });
  });

  it('takes the ids as a JSON list with POST, and resamples before reducing', async () => {
    const answer = await call('POST', '/v1/aggregation/metric?granularity=1&resample=60', [
      cpu['web-1'],
      cpu['db-1'],
    ]);
    expect(answer).toEqual({ status: 200, body: [at('12:00:00', 60, 82.5), at('12:01:00', 60, 165)] });
  });

  it('reads one metric as stored, without needed_overlap or fill', async () => {
    const answer = await call(
      'GET',
      `/v1/aggregation/metric?metric=${cpu['db-1']}&granularity=60&aggregation=max`,
    );
    expect(answer).toEqual({ status: 200, body: [at('12:00:00', 60, 200), at('12:01:00', 60, 300)] });
  });

  // Expected values: Gnocchi 4.7.1's answers to the same measures and queries.
  it('aligns, fills, resamples (fixed and calendar) and reduces several metrics as Gnocchi', async () => {
    const metric = async (values: number[]) => {
      const created = await call('POST', '/v1/metric', { archive_policy_name: 'two' });
      const { id } = created.body as { id: string };
      const times = [
        '2024-05-04T23:59:50Z',
        '2024-05-05T00:00:10Z',
        '2024-05-05T00:00:40Z',
        '2024-05-05T00:01:00Z',
      ];
      const posted = await call(
        'POST',
        `/v1/metric/${id}/measures`,
        values.map((value, i) => ({ timestamp: times[i], value })),
      );
      expect(posted.status).toBe(202);
      return id;
    };
    // Saturday and Sunday: two weeks (Sunday-start). Only the second metric has 00:01:00.
    const ids = `metric=${await metric([10, 20, 30])}&metric=${await metric([100, 200, 300, 400])}&granularity=1`;
    const week = (first: number, second: number) => [
      ['2024-04-28T00:00:00+00:00', 'W', first],
      ['2024-05-05T00:00:00+00:00', 'W', second],
    ];
    const cases: [string, unknown[]][] = [
      [
        'fill=full_ffill&refresh=true',
        [
          ['2024-05-04T23:59:50+00:00', 1, 55],
          ['2024-05-05T00:00:10+00:00', 1, 110],
          ['2024-05-05T00:00:40+00:00', 1, 165],
          ['2024-05-05T00:01:00+00:00', 1, 215],
        ],
      ],
      [
        'reaggregation=rate:mean',
        [
          ['2024-05-05T00:00:10+00:00', 1, 55],
          ['2024-05-05T00:00:40+00:00', 1, 55],
        ],
      ],
      [
        'start=2024-05-05T00:00:00&fill=0',
        [
          ['2024-05-05T00:00:10+00:00', 1, 110],
          ['2024-05-05T00:00:40+00:00', 1, 165],
          ['2024-05-05T00:01:00+00:00', 1, 200],
        ],
      ],
      ['resample=W', week(55, 137.5)],
      ['resample=W&fill=0', week(55, 158.33333333333334)],
      ['resample=W&fill=ffill', week(55, 163.33333333333334)],
      ['resample=W&reaggregation=max', week(100, 250)],
      ['resample=W&aggregation=max&reaggregation=sum', week(110, 330)],
      ['resample=Y', [['2024-01-01T00:00:00+00:00', 'Y', 110]]],
      [
        'resample=60&fill=0',
        [
          ['2024-05-04T23:59:00+00:00', 60, 55],
          ['2024-05-05T00:00:00+00:00', 60, 137.5],
          ['2024-05-05T00:01:00+00:00', 60, 200],
        ],
      ],
    ];
    expect(await call('GET', `/v1/aggregation/metric?${ids}&resample=D`)).toMatchObject({
      status: 400,
      body: { description: 'Unable to parse timespan' },
    });
    for (const [query, expected] of cases) {
      expect(await call('GET', `/v1/aggregation/metric?${ids}&${query}`), query).toEqual({
        status: 200,
        body: expected,
      });
    }
  });

  it("refuses with Gnocchi's statuses and messages", async () => {
    expect(await call('GET', '/v1/aggregation/metric?metric=not-a-uuid')).toMatchObject({ status: 400 });
    const unknownGranularity = await call(
      'GET',
      `/v1/aggregation/metric?metric=${cpu['web-1']}&granularity=42`,
    );
    expect(unknownGranularity).toMatchObject({
      status: 404,
      body: {
        description: `Aggregation method 'mean' at granularity '42.0' for metric ${cpu['web-1']} does not exist`,
      },
    });
    const resampleAlone = await call('GET', `/v1/aggregation/metric?metric=${cpu['web-1']}&resample=60`);
    expect(resampleAlone).toMatchObject({
      status: 400,
      body: { description: 'A granularity must be specified to resample' },
    });
    const unknown = '2d6a5c4e-0000-4000-8000-00000000dead';
    expect(await call('POST', '/v1/aggregation/metric', [cpu['web-1'], unknown])).toMatchObject({
      status: 404,
      body: { description: `Metric ${unknown} does not exist` },
    });
  });
});

describe('/v1/aggregation/resource/<type>/metric/<name>', () => {
  it('groups the resources a search finds by attributes, one reduction per group', async () => {
    const answer = await call(
      'POST',
      `/v1/aggregation/resource/generic/metric/cpu?groupby=project_id&granularity=60&filter=${encodeURIComponent(`user_id='${USER}'`)}`,
    );
    expect(answer).toEqual({
      status: 200,
      body: [
        { group: { project_id: PROJECT_A }, measures: [at('12:00:00', 60, 25), at('12:01:00', 60, 40)] },
        { group: { project_id: PROJECT_B }, measures: [at('12:00:00', 60, 150), at('12:01:00', 60, 300)] },
      ],
    });
  });

  it('takes the JSON search as the body', async () => {
    const answer = await call('POST', '/v1/aggregation/resource/generic/metric/cpu?granularity=60', {
      in: { id: [resourceIds['web-1'], resourceIds['db-1']] },
    });
    expect(answer).toEqual({ status: 200, body: [at('12:00:00', 60, 82.5), at('12:01:00', 60, 165)] });
  });

  it('answers an empty list for a metric name no resource has, __proto__ included', async () => {
    for (const name of ['nope', '__proto__', 'constructor']) {
      expect(await call('POST', `/v1/aggregation/resource/generic/metric/${name}`)).toEqual({
        status: 200,
        body: [],
      });
    }
  });

  it('refuses an unknown type, an unknown groupby attribute and a missing metric name', async () => {
    expect(await call('POST', '/v1/aggregation/resource/nosuchtype/metric/cpu')).toMatchObject({
      status: 404,
      body: { description: 'Resource type nosuchtype does not exist' },
    });
    for (const groupby of ['thisisdumb', '__proto__']) {
      expect(
        await call('POST', `/v1/aggregation/resource/generic/metric/cpu?groupby=${groupby}`),
      ).toMatchObject({
        status: 400,
        body: { description: 'Invalid groupby attribute' },
      });
    }
    expect((await call('POST', '/v1/aggregation/resource/generic/metric')).status).toBe(405);
    expect((await call('GET', '/v1/aggregation/resource/generic/metric/cpu')).status).toBe(405);
  });
});

describe('hostile input', () => {
  it('is refused with a 4xx, never a 5xx', async () => {
    const ids = () => `metric=${cpu['web-1']}&metric=${cpu['web-2']}`;
    const legacy = [
      'reaggregation=wtf',
      'reaggregation=constructor',
      'reaggregation=__proto__',
      'aggregation=__proto__',
      'aggregation=constructor&reaggregation=mean',
      'granularity=abc',
      'granularity=-1',
      'granularity=1&resample=0',
      'granularity=1&resample=-5',
      'granularity=1&resample=abc',
      'needed_overlap=abc',
      'fill=abc',
      'start=garbage',
      'stop=99999999999999999999',
      'refresh=maybe',
    ];
    for (const query of legacy) {
      const answer = await call('GET', `/v1/aggregation/metric?${ids()}&${query}`);
      expect(answer.status, `${query}: ${JSON.stringify(answer.body)}`).toBeGreaterThanOrEqual(400);
      expect(answer.status, query).toBeLessThan(500);
    }
    for (const body of [[1, 2], 'garbage', 12, { '=': { nope: 1 } }, { __proto__: { '=': 1 } }, { in: 5 }]) {
      const answer = await call('POST', '/v1/aggregation/resource/generic/metric/cpu', body);
      expect(answer.status, `${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`).toBeLessThan(500);
    }
    for (const filter of ["id='", '(((((', 'nope = 1']) {
      const answer = await call(
        'POST',
        `/v1/aggregation/resource/generic/metric/cpu?filter=${encodeURIComponent(filter)}`,
      );
      expect(answer.status, filter).toBe(400);
    }
    for (const body of [[], 'x', { '=': [1, [2, 3]] }, { and: [{ or: [{ '**': 1e308 }] }] }]) {
      const answer = await call('POST', `/v1/search/metric?metric_id=${cpu['web-1']}`, body);
      expect(answer.status, JSON.stringify(body)).toBeLessThan(500);
    }
  });
});

describe('POST /v1/search/metric', () => {
  it('answers the stored points whose value matches, per metric, coarsest granularity first', async () => {
    const answer = await call(
      'POST',
      `/v1/search/metric?metric_id=${cpu['web-1']}&metric_id=${cpu['db-1']}`,
      { or: [{ '≥': 200 }, { and: [{ '>': 10 }, { '<': 25 }] }] },
    );
    expect(answer).toEqual({
      status: 200,
      body: {
        [cpu['web-1']!]: [at('12:00:00', 60, 15), at('12:00:40', 1, 20)],
        [cpu['db-1']!]: [at('12:01:00', 60, 300), at('12:00:40', 1, 200), at('12:01:10', 1, 300)],
      },
    });
  });

  it('restricts to the asked granularities and time range, and leaves unknown metrics out', async () => {
    const answer = await call(
      'POST',
      `/v1/search/metric?metric_id=${cpu['web-2']}&metric_id=6e0b7c1a-0000-4000-8000-000000000000&granularity=1s&start=2024-05-01T12:00:30Z`,
      { '>=': 0 },
    );
    expect(answer).toEqual({
      status: 200,
      body: { [cpu['web-2']!]: [at('12:00:40', 1, 40), at('12:01:10', 1, 50)] },
    });
  });

  it('refuses an unknown granularity, a bad time, a missing or invalid query', async () => {
    const search = (query: string, body?: unknown) =>
      call('POST', `/v1/search/metric?metric_id=${cpu['web-1']}${query}`, body);
    expect(await search('&granularity=300', { '=': 1 })).toMatchObject({
      status: 400,
      body: {
        description: {
          cause: 'Aggregation does not exist',
          detail: { granularity: 300, aggregation_method: 'mean' },
        },
      },
    });
    expect(await search('&stop=foobar', { '=': 1 })).toMatchObject({
      status: 400,
      body: { description: 'Invalid value for stop' },
    });
    expect(await search('')).toMatchObject({
      status: 400,
      body: { description: 'No query specified in body' },
    });
    expect(await search('', { not: [{ '=': 1 }] })).toMatchObject({ status: 400 });
    expect(await search('', JSON.parse('{"__proto__": {"=": 1}}'))).toMatchObject({ status: 400 });
  });
});
