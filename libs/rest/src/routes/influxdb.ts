import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { indexError } from '@granary/index';
import { compareCodePoints } from '@granary/python-format';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteContext } from '../app.ts';
import { describedRestError } from '../errors.ts';
import { mediaType } from '../http.ts';
import { type Query, queryValue } from '../pagination.ts';
import { authorize } from '../policy.ts';
import { type LinePoint, parseLineProtocol, precisionNanos } from '../wire/line-protocol.ts';
import { measureWriter } from './measures.ts';
import { rawBody, registerRawBodyRoutes } from './raw-body.ts';
import { type NamedMeasures, type ResourceWrite, resourceMeasureBatches } from './resource-metrics.ts';

/** What Gnocchi 4.7.1 answers in `X-Influxdb-Version` (clients log it; some check it is there). */
const INFLUXDB_VERSION = 'Gnocchi 4.7.1';
const DEFAULT_RESOURCE_ID_TAG = 'host';
const RESOURCE_ID_TAG_HEADER = 'x-gnocchi-influxdb-tag-resource-id';
/** The REST API's own limit on resource type names. */
const MAX_TYPE_NAME_LENGTH = 255;
const gunzipAsync = promisify(gunzip);

/**
 * Gnocchi's InfluxDB write API (`gnocchi/rest/influxdb.py`): `ping`, `query` (only `CREATE
 * DATABASE`, which creates a resource type of that name) and `write` (line protocol → one
 * resource per value of the resource id tag, in the type named by `db`, one metric per
 * `measurement.field@tag=value,…`, all measures in one measure write).
 */
export function registerInfluxDbRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  return registerRawBodyRoutes(app, (scope) => {
    scope.get('/v1/influxdb/ping', async (_request, reply) =>
      reply.code(204).header('x-influxdb-version', INFLUXDB_VERSION).send(),
    );

    scope.post('/v1/influxdb/query', async (request, reply) => {
      const query = queryText(request);
      if (query === undefined) return reply.code(204).send();
      const name = createdDatabase(query);
      if (name === undefined) {
        throw describedRestError('REST_NOT_IMPLEMENTED', {
          cause: 'Not implemented error',
          detail: 'q',
          reason: 'Query not implemented',
        });
      }
      authorize(ctx.principal(request), 'create resource type');
      if (name.length === 0 || [...name].length > MAX_TYPE_NAME_LENGTH) {
        throw describedRestError('REST_INVALID_INPUT', {
          cause: 'Value error',
          detail: 'q',
          reason: `A database name has 1 to ${MAX_TYPE_NAME_LENGTH} characters`,
        });
      }
      try {
        await ctx.deps.index.resourceTypes.create({ name, attributes: {} });
      } catch (err) {
        if (!indexError.is(err, 'INDEX_RESOURCE_TYPE_ALREADY_EXISTS')) throw err;
      }
      return reply.code(204).send();
    });

    // Read whatever the media type (bodyTypes only documents it): see registerRawBodyRoutes.
    scope.post('/v1/influxdb/write', { config: { bodyTypes: ['text/plain'] } }, async (request, reply) => {
      const principal = ctx.principal(request);
      const query = request.query as Query;
      const type = queryValue(query, 'db') ?? 'influxdb';
      const precision = queryValue(query, 'precision');
      const unitNanos = precisionNanos(precision);
      if (unitNanos === undefined) {
        throw describedRestError('REST_INVALID_INPUT', {
          cause: 'Argument value error',
          detail: 'precision',
          reason: `Unknown precision ${precision}: one of n, ns, u, us, ms, s, m, h`,
        });
      }
      const header = request.headers[RESOURCE_ID_TAG_HEADER];
      const resourceIdTag = (Array.isArray(header) ? header.at(-1) : header) ?? DEFAULT_RESOURCE_ID_TAG;
      const parsed = await parseLineProtocol(await lineBody(request, ctx.config.bodyLimitBytes), unitNanos);
      if ('error' in parsed) {
        throw describedRestError('REST_INVALID_INPUT', {
          cause: 'Value error',
          detail: 'line',
          reason: `Unable to parse line ${parsed.line}: ${parsed.error}`,
        });
      }
      const now = Date.now() * 1000;
      const writes = resourceWrites(parsed.points, resourceIdTag, now, ctx.config.maxMetricsPerBatch);
      const batches = await resourceMeasureBatches(ctx, principal, type, writes.values());
      if (batches.length > 0) await measureWriter(ctx).write(batches);
      return reply.code(204).send();
    });
  });
}

/**
 * The line-protocol bytes: gunzipped when `Content-Encoding: gzip` (Telegraf's default for its
 * InfluxDB output; Gnocchi does not decompress), in the thread pool and held to the body limit
 * (413 past it); any other encoding is read as it is, as Gnocchi does.
 */
async function lineBody(request: FastifyRequest, maxBytes: number): Promise<Buffer> {
  const body = rawBody(request.body);
  const encoding = String(request.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  if (encoding !== 'gzip') return body;
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw describedRestError(
        'REST_BODY_TOO_LARGE',
        `The gzip body decompresses to more than ${maxBytes} bytes`,
      );
    }
    throw describedRestError('REST_INVALID_INPUT', {
      cause: 'Value error',
      detail: 'body',
      reason: `Unable to decompress the gzip body: ${(err as Error).message}`,
    });
  }
}

/** `q` from the query string, or from a form-encoded body (InfluxDB clients send either). */
function queryText(request: FastifyRequest): string | undefined {
  const fromUrl = queryValue(request.query as Query, 'q');
  if (fromUrl !== undefined) return fromUrl;
  if (mediaType(request.headers['content-type']) !== 'application/x-www-form-urlencoded') return undefined;
  return new URLSearchParams(rawBody(request.body).toString('utf8')).getAll('q').at(-1);
}

const CREATE_DATABASE = /^\s*create\s*database\s+(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*))/i;

/**
 * The database name of Gnocchi's only query, `CREATE DATABASE name` (case-insensitive; a quoted
 * name may hold anything): what follows the name is ignored, as Gnocchi does, so clients adding a
 * retention clause still get their database.
 */
export function createdDatabase(query: string): string | undefined {
  const match = CREATE_DATABASE.exec(query);
  if (!match) return undefined;
  return match[2] ?? match[1]!.replace(/\\(.)/g, '$1');
}

/**
 * The points grouped by resource (the value of the resource id tag) and metric name, Gnocchi's
 * `<measurement>.<field>@<tag>=<value>,…` with the other tags in code-point order (Python's
 * `sorted()`) and `/` as `_`. String and boolean fields are skipped; points without a timestamp
 * get `now`. More than `maxResources` resources is a 400 (each costs index queries).
 */
export function resourceWrites(
  points: readonly LinePoint[],
  resourceIdTag: string,
  now: number,
  maxResources: number,
): Map<string, ResourceWrite> {
  const writes = new Map<string, ResourceWrite>();
  for (const point of points) {
    const resourceName = point.tags.get(resourceIdTag);
    if (resourceName === undefined) {
      throw describedRestError('REST_INVALID_INPUT', {
        cause: 'Value error',
        detail: 'key',
        reason: `Unable to find key \`${resourceIdTag}' in tags`,
      });
    }
    const tags = [...point.tags]
      .filter(([key]) => key !== resourceIdTag)
      .sort(([a], [b]) => compareCodePoints(a, b));
    const suffix = tags.length > 0 ? `@${tags.map(([key, value]) => `${key}=${value}`).join(',')}` : '';
    for (const [field, value] of point.fields) {
      if (typeof value !== 'number') continue;
      let write = writes.get(resourceName);
      if (!write) {
        write = { rawId: resourceName, measures: new Map() };
        writes.set(resourceName, write);
        if (writes.size > maxResources) throw tooManyResources(maxResources);
      }
      const name = `${point.measurement}.${field}${suffix}`.replaceAll('/', '_');
      let measures: NamedMeasures | undefined = write.measures.get(name);
      if (!measures) {
        measures = { timestamps: [], values: [] };
        write.measures.set(name, measures);
      }
      measures.timestamps.push(point.timestamp ?? now);
      measures.values.push(value);
    }
  }
  return writes;
}

const tooManyResources = (limit: number) =>
  describedRestError('REST_INVALID_INPUT', {
    cause: 'Too many entries',
    reason: `More than ${limit} resources in one write`,
    detail: [],
  });
