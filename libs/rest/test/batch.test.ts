import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, FOOBAR, fakeIndex, fakeMeasures, testApi } from './helpers.ts';

const json = { 'content-type': 'application/json' };
let app: FastifyInstance;
afterEach(() => app.close());

async function setUp() {
  const measures = fakeMeasures();
  app = await testApi({}, fakeIndex(), measures.port);
  await app.inject({
    method: 'POST',
    url: '/v1/archive_policy',
    headers: { authorization: ADMIN, ...json },
    payload: { name: 'simple', definition: [{ granularity: 1 }] },
  });
  const create = async () =>
    (
      await app.inject({
        method: 'POST',
        url: '/v1/metric',
        headers: { authorization: FOOBAR, ...json },
        payload: { archive_policy_name: 'simple' },
      })
    ).json().id as string;
  return { measures, ids: [await create(), await create()] };
}

const batch = (payload: unknown) =>
  app.inject({
    method: 'POST',
    url: '/v1/batch/metrics/measures',
    headers: { authorization: FOOBAR, ...json },
    payload: JSON.stringify(payload),
  });
const measure = (value: number) => [{ timestamp: '2015-03-06T14:33:57', value }];

describe('POST /v1/batch/metrics/measures', () => {
  it('writes one batch per metric and answers 202', async () => {
    const { measures, ids } = await setUp();
    const res = await batch({ [ids[0]!]: measure(1), [ids[1]!]: measure(2) });
    expect(res.statusCode).toBe(202);
    expect(measures.written.map((b) => [b.metric_id, b.values])).toEqual([
      [ids[0], [1]],
      [ids[1], [2]],
    ]);
  });

  it('names the unknown metrics (canonical, sorted) and writes nothing', async () => {
    const { measures, ids } = await setUp();
    const res = await batch({
      '37AEC8B7-C0D9-445B-8AB9-D3C6312DCF5D': measure(1),
      [ids[0]!]: measure(1),
      '37AEC8B7-C0D9-445B-8AB9-D3C6312DCF5C': measure(1),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().description).toBe(
      'Unknown metrics: 37aec8b7-c0d9-445b-8ab9-d3c6312dcf5c, 37aec8b7-c0d9-445b-8ab9-d3c6312dcf5d',
    );
    expect(measures.written).toEqual([]);
  });

  it('refuses the whole batch when one metric has a bad measure', async () => {
    const { measures, ids } = await setUp();
    const res = await batch({ [ids[0]!]: measure(1), [ids[1]!]: [{ timestamp: 'yesterday-ish', value: 1 }] });
    expect(res.statusCode).toBe(400);
    expect(measures.written).toEqual([]);
  });
});
