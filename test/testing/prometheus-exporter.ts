import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';

/**
 * What an instrumented service serves at /metrics: prom-client renders the exposition format as
 * real exporters do (escaped label values, NaN, histogram buckets, a summary's quantiles), which
 * makes it a fair oracle for the Prometheus pollster. Kept here so that no lib imports prom-client.
 */
export async function sampleExposition(): Promise<{ text: string; contentType: string }> {
  const registry = new Registry();
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'Requests',
    labelNames: ['code', 'path'],
    registers: [registry],
  });
  requests.inc({ code: '200', path: '/a "quoted"\\path' }, 7);
  requests.inc({ code: '500', path: '/b' }, 2);
  new Gauge({ name: 'queue_depth_bytes', help: 'Queue depth', registers: [registry] }).set(1234.5);
  new Gauge({ name: 'not_a_number', help: 'NaN gauge', registers: [registry] }).set(Number.NaN);
  const latency = new Histogram({
    name: 'latency_seconds',
    help: 'Latency',
    buckets: [0.1, 1],
    registers: [registry],
  });
  latency.observe(0.05);
  latency.observe(0.5);
  const sizes = new Summary({ name: 'size', help: 'Sizes', percentiles: [0.5], registers: [registry] });
  sizes.observe(10);
  return { text: await registry.metrics(), contentType: registry.contentType };
}
