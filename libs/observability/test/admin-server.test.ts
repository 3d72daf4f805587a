import { afterEach, describe, expect, it } from 'vitest';
import {
  type AdminServer,
  createLogger,
  createRegistry,
  prometheusInstruments,
  startAdminServer,
} from '../index.ts';

let server: AdminServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('admin server', () => {
  it('exports metrics in Prometheus text and reports probes', async () => {
    const registry = createRegistry('test');
    prometheusInstruments(registry).counter({ name: 'granary_things_total', help: 'things' }).inc(3);
    let ready = false;
    server = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      logger: createLogger('test', 'silent'),
      ready: () => ready,
      healthy: () => {
        throw new Error('broker unreachable');
      },
    });
    const metrics = await fetch(`${server.url}/metrics`);
    expect(await metrics.text()).toMatch(/granary_things_total\{app="test"\} 3/);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.text()).toBe('broker unreachable');
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });
});
