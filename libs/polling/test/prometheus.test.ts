import { type TestServer, startTestServer } from '@granary/testing/http-server';
import { sampleExposition } from '@granary/testing/prometheus-exporter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrometheusPollster, pollingErrors } from '../index.ts';

describe('prometheus pollster against a real HTTP endpoint', () => {
  let server: TestServer;
  let brokenServer: TestServer;

  beforeAll(async () => {
    const { text, contentType } = await sampleExposition();
    server = await startTestServer((_req, res) => {
      res.writeHead(200, { 'content-type': contentType });
      res.end(text);
    });
    brokenServer = await startTestServer((_req, res) => {
      res.writeHead(200);
      res.end('good_metric 1\nbad metric{ 2\n');
    });
  });
  afterAll(async () => {
    await server.close();
    await brokenServer.close();
  });

  it('turns counters into cumulative and gauges into gauge samples, labels into metadata', async () => {
    const url = `${server.url}/metrics`;
    const samples = await createPrometheusPollster().poll([url], { cache: new Map() });
    const instance = new URL(server.url).host;
    const find = (name: string, resourceId: string) =>
      samples.find((s) => s.name === name && s.resourceId === resourceId);

    expect(find('http_requests_total', `${instance}{code="200",path="/a \\"quoted\\"\\\\path"}`)).toEqual({
      name: 'http_requests_total',
      type: 'cumulative',
      unit: '',
      volume: 7,
      resourceId: `${instance}{code="200",path="/a \\"quoted\\"\\\\path"}`,
      metadata: { code: '200', path: '/a "quoted"\\path', instance, resource_url: url },
    });
    expect(find('http_requests_total', `${instance}{code="500",path="/b"}`)?.volume).toBe(2);
    expect(find('queue_depth_bytes', instance)).toMatchObject({ type: 'gauge', unit: 'B', volume: 1234.5 });
    expect(find('latency_seconds_bucket', `${instance}{le="1"}`)).toMatchObject({
      type: 'cumulative',
      unit: 's',
      volume: 2,
    });
    expect(find('latency_seconds_bucket', `${instance}{le="0.1"}`)?.volume).toBe(1);
    expect(find('latency_seconds_count', instance)).toMatchObject({ type: 'cumulative', volume: 2 });
    expect(find('latency_seconds_sum', instance)?.volume).toBeCloseTo(0.55, 10);
    expect(find('size', `${instance}{quantile="0.5"}`)).toMatchObject({ type: 'gauge', volume: 10 });
    expect(find('size_count', instance)).toMatchObject({ type: 'cumulative', volume: 1 });
    expect(samples.some((s) => s.name === 'not_a_number')).toBe(false);
    expect(samples.some((s) => s.name === 'latency_seconds_bucket' && s.resourceId.includes('+Inf'))).toBe(
      true,
    );
  });

  it('fails the run with coded errors for a malformed page, a missing page and a dead endpoint', async () => {
    const pollster = createPrometheusPollster({ timeoutMs: 2_000 });
    await expect(pollster.poll([brokenServer.url], { cache: new Map() })).rejects.toSatisfy(
      (e) => pollingErrors.is(e, 'POLLING_BAD_RESPONSE') && /line 2/.test((e as Error).message),
    );
    const notFound = await startTestServer((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    await expect(pollster.poll([notFound.url], { cache: new Map() })).rejects.toSatisfy((e) =>
      pollingErrors.is(e, 'POLLING_BAD_RESPONSE'),
    );
    await notFound.close();
    await expect(pollster.poll([notFound.url], { cache: new Map() })).rejects.toSatisfy((e) =>
      pollingErrors.is(e, 'POLLING_SOURCE_FAILED'),
    );
  });
});
