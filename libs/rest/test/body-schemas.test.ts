import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, testApi } from './helpers.ts';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('body schemas keyed by user-chosen names', () => {
  it('check the value of a metric whose name has a line break (found by make fuzz)', async () => {
    app = await testApi();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/resource/generic',
      headers: { authorization: ADMIN, 'content-type': 'application/json' },
      payload: { id: 'fuzzed', metrics: { 'cpu\n': null } },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe(400);
  });
});
