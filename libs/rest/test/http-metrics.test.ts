import { createLogger, createRegistry, prometheusInstruments } from '@granary/observability';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApi } from '../index.ts';
import { ADMIN, fakeIndex, restConfig } from './helpers.ts';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('HTTP metrics', () => {
  it('counts and times requests by route template, method and status, unknown paths under one label', async () => {
    const registry = createRegistry('api');
    const app = await buildApi(
      {
        index: fakeIndex(),
        logger: createLogger('rest-test', 'silent'),
        instruments: prometheusInstruments(registry),
      },
      restConfig(),
    );
    close = () => app.close();
    const id = '6f9b7e7c-1d2a-4c52-9b1e-3d6f0b0c7a11';
    await app.inject({ method: 'GET', url: `/v1/metric/${id}`, headers: { authorization: ADMIN } });
    await app.inject({ method: 'GET', url: `/v1/metric/${id}`, headers: { authorization: ADMIN } });
    await app.inject({ method: 'GET', url: '/v1/metric' });
    await app.inject({ method: 'GET', url: `/no/such/${id}`, headers: { authorization: ADMIN } });
    await app.inject({ method: 'DELETE', url: '/no/such/other', headers: { authorization: ADMIN } });

    const text = await registry.metrics();
    expect(text).toContain(
      'granary_api_requests_total{method="GET",route="/v1/metric/:id",code="404",app="api"} 2',
    );
    expect(text).toContain(
      'granary_api_requests_total{method="GET",route="/v1/metric",code="401",app="api"} 1',
    );
    expect(text).toContain(
      'granary_api_requests_total{method="GET",route="unmatched",code="404",app="api"} 1',
    );
    const series = 'app="api",method="GET",route="/v1/metric/:id",code="404"';
    expect(text).toContain(`granary_api_request_duration_seconds_count{${series}} 2`);
    expect(text).toContain(`granary_api_request_duration_seconds_bucket{le="30",${series}} 2`);
    expect(text).toContain(
      'granary_api_requests_total{method="DELETE",route="unmatched",code="404",app="api"} 1',
    );
    expect(text).not.toContain(id);
  });
});
