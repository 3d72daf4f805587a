import { createLogger } from '@granary/observability';
import { type TestIndex, createTestIndex } from '@granary/testing/database';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, indexPort } from '../index.ts';
import { ADMIN, restConfig } from './helpers.ts';

// A number attribute as the real Gnocchi 4.7.1 prints it (tools/gnocchi-oracle): `"size": 5` in the
// create reply, which echoes the body, and `"size": 5.0` wherever it is read back from its float
// column (GET, search, history, groups).
let testIndex: TestIndex;
let app: FastifyInstance;

beforeAll(async () => {
  testIndex = await createTestIndex();
  app = await buildApi(
    { index: indexPort(testIndex.index), logger: createLogger('rest-int', 'silent') },
    restConfig(),
  );
});
afterAll(async () => {
  await app?.close();
  await testIndex?.drop();
});

const call = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    headers: {
      authorization: ADMIN,
      ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
  });

describe('number attributes', () => {
  it('echo the number sent on create and read back as floats', async () => {
    const type = await call('POST', '/v1/resource_type', {
      name: 'floaty',
      attributes: { size: { type: 'number', min: 0, max: 10, required: false } },
    });
    expect(type.statusCode).toBe(201);
    // The definition keeps the numbers as given, as Gnocchi's does.
    expect(type.body).toContain('"min": 0');
    expect(type.body).toContain('"max": 10');
    const created = await call('POST', '/v1/resource/floaty', { id: 'floaty-1', size: 5 });
    expect(created.statusCode).toBe(201);
    expect(created.body).toMatch(/"size": 5[,}]/);
    for (const read of [
      await call('GET', '/v1/resource/floaty/floaty-1'),
      await call('POST', '/v1/search/resource/floaty', { '=': { size: 5 } }),
      await call('GET', '/v1/resource/floaty/floaty-1/history'),
    ]) {
      expect(read.statusCode).toBe(200);
      expect(read.body).toMatch(/"size": 5\.0[,}]/);
    }
    const grouped = await call('POST', '/v1/aggregation/resource/floaty/metric/cpu?groupby=size', {
      '=': { size: 5 },
    });
    expect(grouped.statusCode).toBe(200);
    expect(grouped.body).toBe('[{"group": {"size": 5.0}, "measures": []}]');
  });
});
