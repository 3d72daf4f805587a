import type { Instruments } from '@granary/observability';
import type { FastifyInstance } from 'fastify';

/** The label of requests no route matched: one series, whatever the path. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Counts every answered request and times it, by method, route template (`/v1/metric/:id`, never
 * the path: ids would make a series each) and status code. Node's parser accepts only the methods
 * it knows, so the method label is bounded too.
 */
export function installHttpMetrics(app: FastifyInstance, instruments: Instruments): void {
  const labelNames = ['method', 'route', 'code'] as const;
  const requests = instruments.counter({
    name: 'granary_api_requests_total',
    help: 'HTTP requests answered, by method, route template and status code',
    labelNames,
  });
  const durations = instruments.histogram({
    name: 'granary_api_request_duration_seconds',
    help: 'From the request received to the response sent, by method, route template and status code',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? UNMATCHED_ROUTE,
      code: reply.statusCode,
    };
    requests.inc(labels);
    durations.observe(labels, reply.elapsedTime / 1000);
  });
}
