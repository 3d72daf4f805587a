import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../libs/rest/test/database.ts';
import { ApiConfigSchema, type RunningApi, startApi } from '../index.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let api: RunningApi;

beforeAll(async () => {
  database = await createTestDatabase();
  // Configured the way an operator would: through the environment loadConfig reads.
  const config = loadConfig(ApiConfigSchema, {
    env: {
      DATABASE_URL: database.url,
      GRANARY_API__HOST: '127.0.0.1',
      GRANARY_API__PORT: '0',
      GRANARY_API__MAX_LIMIT: '7',
      GRANARY_INDEX__SEED: 'defaults',
    },
  });
  api = await startApi(config, createLogger('api-int', 'silent'));
});
afterAll(async () => {
  await api?.stop();
  await database?.drop();
});

const basic = (user: string) => ({ authorization: `basic ${Buffer.from(`${user}:`).toString('base64')}` });

describe('the query service', () => {
  it('migrates and seeds the index, then serves the API and its admin endpoints', async () => {
    expect((await fetch(`${api.url}/healthcheck`)).status).toBe(200);
    const policies = (await (
      await fetch(`${api.url}/v1/archive_policy`, { headers: basic('foobar') })
    ).json()) as {
      name: string;
    }[];
    expect(policies.map((p) => p.name).sort()).toEqual(['bool', 'high', 'low', 'medium']);
    expect((await fetch(`${api.adminUrl}/readyz`)).status).toBe(200);
  });

  it('creates a metric from the default rule and reads it back', async () => {
    const created = await fetch(`${api.url}/v1/metric`, {
      method: 'POST',
      headers: { ...basic('foobar'), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cpu' }),
    });
    expect(created.status).toBe(201);
    const location = created.headers.get('location')!;
    expect(location.startsWith(`${api.url}/v1/metric/`)).toBe(true);
    const metric = (await (await fetch(location, { headers: basic('foobar') })).json()) as {
      archive_policy: { name: string };
    };
    expect(metric.archive_policy.name).toBe('low');
  });
});
