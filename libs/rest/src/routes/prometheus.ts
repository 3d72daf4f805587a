import { indexError } from '@granary/index';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../app.ts';
import type { Principal } from '../auth.ts';
import { describedRestError } from '../errors.ts';
import { authorize } from '../policy.ts';
import { type RemoteTimeSeries, decodeWriteRequest } from '../wire/remote-write.ts';
import { snappyUncompress } from '../wire/snappy.ts';
import { measureWriter } from './measures.ts';
import { rawBody, registerRawBodyRoutes } from './raw-body.ts';
import { type NamedMeasures, type ResourceWrite, resourceMeasureBatches } from './resource-metrics.ts';

const RESOURCE_TYPE = 'prometheus';
/** Gnocchi's `PROMETHEUS_RESOURCE_TYPE`, created on the first write. */
const RESOURCE_TYPE_ATTRIBUTES = {
  instance: { type: 'string', min_length: 1, max_length: 512, required: true },
  job: { type: 'string', min_length: 1, max_length: 512, required: true },
};
/** Epoch µs are exact in a double up to 2^53 (year 2255), Granary's ceiling for time. */
const MAX_MICROS = Number.MAX_SAFE_INTEGER;

/**
 * Prometheus remote write (`POST /v1/prometheus/write`, Gnocchi's PrometheusWriteController): a
 * snappy-compressed protobuf `WriteRequest`. Each series goes to the resource `<job>@<instance>`
 * of type `prometheus` (attributes `job` and `instance`, "none" when absent) as the metric named
 * by its `__name__` label; other labels are not kept, so series differing only by them share a
 * name, and, as in Gnocchi, the last such series of a request is the one written. Answers 202.
 */
export function registerPrometheusRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  return registerRawBodyRoutes(app, (scope) => {
    // Prometheus sends application/x-protobuf; documented as octet-stream, which OpenAPI tools can
    // produce (the route reads any media type).
    const config = { bodyTypes: ['application/octet-stream'] };
    scope.post('/v1/prometheus/write', { config }, async (request, reply) => {
      const principal = ctx.principal(request);
      const writes = resourceWrites(ctx, await decode(rawBody(request.body), ctx.config.bodyLimitBytes));
      if (writes.size > 0) await ensureResourceType(ctx, principal);
      const batches = await resourceMeasureBatches(ctx, principal, RESOURCE_TYPE, writes.values());
      if (batches.length > 0) await measureWriter(ctx).write(batches);
      return reply.code(202).send();
    });
  });
}

/** The series of a body; its decompressed size is held to the same limit as bodies. */
async function decode(body: Buffer, maxBytes: number): Promise<RemoteTimeSeries[]> {
  const uncompressed = snappyUncompress(body, maxBytes);
  if ('error' in uncompressed) {
    if (uncompressed.tooLarge) throw describedRestError('REST_BODY_TOO_LARGE', uncompressed.error);
    throw invalidWrite(`Unable to decompress the body: ${uncompressed.error}`);
  }
  const decoded = await decodeWriteRequest(uncompressed.bytes);
  if ('error' in decoded) throw invalidWrite(`Unable to decode the WriteRequest: ${decoded.error}`);
  return decoded.timeseries;
}

/**
 * Series grouped by resource and metric name. Samples that are not finite are left out: NaN is
 * Prometheus's staleness marker, and Granary stores finite values only (Gnocchi keeps them). A
 * series without samples creates nothing, as in Gnocchi; one without `__name__` is a 400 (a 500
 * in Gnocchi).
 */
function resourceWrites(ctx: RouteContext, timeseries: RemoteTimeSeries[]): Map<string, ResourceWrite> {
  const writes = new Map<string, ResourceWrite>();
  for (const series of timeseries) {
    const labels = new Map(series.labels);
    const name = labels.get('__name__');
    if (name === undefined) throw invalidWrite('A time series has no __name__ label');
    if (series.samples.length === 0) continue;
    const job = labels.get('job') ?? 'none';
    const instance = labels.get('instance') ?? 'none';
    const rawId = `${job}@${instance}`;
    if ([name, rawId].some((text) => text.includes('\0'))) {
      throw invalidWrite('NUL characters are not accepted in labels');
    }
    const measures: NamedMeasures = { timestamps: [], values: [] };
    for (const { timestampMs, value } of series.samples) {
      const micros = timestampMs * 1000;
      if (!Number.isSafeInteger(timestampMs) || micros < 0 || micros > MAX_MICROS) {
        throw invalidWrite(`Sample timestamp ${timestampMs} ms is out of range`);
      }
      if (!Number.isFinite(value)) continue;
      measures.timestamps.push(micros);
      measures.values.push(value);
    }
    let write = writes.get(rawId);
    if (!write) {
      write = { rawId, attributes: { job, instance }, measures: new Map() };
      writes.set(rawId, write);
      if (writes.size > ctx.config.maxMetricsPerBatch) {
        throw invalidWrite(`More than ${ctx.config.maxMetricsPerBatch} resources in one write`);
      }
    }
    write.measures.set(name, measures);
  }
  return writes;
}

/** Gnocchi creates the `prometheus` type on first use, as a `create resource type` (admin or service). */
async function ensureResourceType(ctx: RouteContext, principal: Principal): Promise<void> {
  const types = ctx.deps.index.resourceTypes;
  if (await types.get(RESOURCE_TYPE)) return;
  authorize(principal, 'create resource type');
  try {
    await types.create({ name: RESOURCE_TYPE, attributes: RESOURCE_TYPE_ATTRIBUTES });
  } catch (err) {
    if (!indexError.is(err, 'INDEX_RESOURCE_TYPE_ALREADY_EXISTS')) throw err;
  }
}

const invalidWrite = (reason: string) =>
  describedRestError('REST_INVALID_INPUT', { cause: 'Invalid input', reason, detail: [] });
