import { type Operation, REDUCERS, evaluateOperations, referenceKey } from '@granary/aggregates';
import { CALENDAR_UNITS, type CalendarUnit, parseTimespan, resample } from '@granary/carbonara';
import { GranaryError } from '@granary/errors';
import { parseUuid } from '@granary/index';
import { pyFloatRepr } from '@granary/python-format';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteContext } from '../app.ts';
import { describedRestError, restError, undecodableBody } from '../errors.ts';
import { type Query, queryValue, queryValues } from '../pagination.ts';
import type { Metric, Points, Resource } from '../ports.ts';
import { argumentError, invalidInputError } from '../validation.ts';
import {
  type AggregatesArguments,
  aggregatesArguments,
  checkReferenceCount,
  evaluateMetrics,
  groupsOf,
  rowsJson,
  rowsOf,
} from './aggregates.ts';
import { measureReader } from './measures.ts';
import { authorizeMetric } from './metrics.ts';
import { policyScope, typeOf } from './resources.ts';

const ResourceMetricParams = Type.Object({ type: Type.String(), name: Type.String() });
const ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * Gnocchi's deprecated cross-metric aggregation (`AggregationController`): the `aggregation` series
 * of several metrics (by id, or the metric `name` of the resources a search finds) reduced into one
 * by `reaggregation`, on the `/v1/aggregates` engine. One metric is read as is, without reduction.
 */
export function registerAggregationRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const byIds = async (request: FastifyRequest) => {
    const ids = request.method === 'GET' ? idsOfQuery(request.query as Query) : idsOfBody(request.body);
    checkReferenceCount(ctx, ids);
    return crossMetricMeasures(ctx, request, await activeMetrics(ctx, ids));
  };
  app.get('/v1/aggregation/metric', byIds);
  app.post('/v1/aggregation/metric', { config: { bodyOptional: true } }, byIds);

  app.post(
    '/v1/aggregation/resource/:type/metric/:name',
    { schema: { params: ResourceMetricParams }, config: { bodyOptional: true } },
    async (request) => {
      const { type, name } = request.params as Static<typeof ResourceMetricParams>;
      if (!(await ctx.deps.index.resourceTypes.get(type))) {
        const description = `Resource type ${type} does not exist`;
        throw restError('REST_NOT_FOUND', description, { details: { description } });
      }
      const query = request.query as Query;
      const groupby = [...new Set(queryValues(query, 'groupby'))].sort();
      const resources = await searchResources(ctx, request, type, groupby);
      if (groupby.length === 0) {
        return crossMetricMeasures(ctx, request, await metricsNamed(ctx, resources, name));
      }
      const groups = [];
      // One group at a time: a groupby on `id` makes one group per resource, each reading its series.
      for (const { group, members } of groupsOf(resources, await typeOf(ctx, type), groupby)) {
        groups.push({
          group,
          measures: await crossMetricMeasures(ctx, request, await metricsNamed(ctx, members, name)),
        });
      }
      return groups;
    },
  );
  // Gnocchi routes a path without the metric name to the metric form, which refuses it with a 405.
  app.route({
    method: [...ALL_METHODS],
    url: '/v1/aggregation/resource/:type/metric',
    config: { hidden: true },
    handler: async () => {
      throw restError('REST_METHOD_NOT_ALLOWED');
    },
  });
}

/** `?metric=<uuid>&metric=…` (Gnocchi refuses anything but UUIDs with `Invalid input: …`). */
function idsOfQuery(query: Query): string[] {
  return queryValues(query, 'metric').map((raw, i) => {
    const id = parseUuid(raw);
    if (id === undefined)
      throw describedRestError('REST_INVALID_INPUT', `Invalid input: not a valid value @ data[${i}]`);
    return id;
  });
}

/** The POST form's body: a list of metric UUIDs. */
function idsOfBody(body: unknown): string[] {
  if (body === undefined) throw undecodableBody('Expected object or value');
  if (!Array.isArray(body)) throw invalidInputError('expected list', [], false);
  return body.map((raw, i) => {
    const id = typeof raw === 'string' ? parseUuid(raw) : undefined;
    if (id === undefined) throw invalidInputError('not a valid value', [i], false);
    return id;
  });
}

/** The metrics by id, each once and ordered by id (as Gnocchi lists them); an unknown one is a 404. */
async function activeMetrics(ctx: RouteContext, ids: readonly string[]): Promise<Metric[]> {
  const unique = [...new Set(ids)].sort();
  const found = await Promise.all(unique.map((id) => ctx.deps.index.metrics.get(id)));
  const missing = unique.find((_, i) => found[i]?.status !== 'active');
  if (missing !== undefined) throw describedRestError('REST_NOT_FOUND', `Metric ${missing} does not exist`);
  return found as Metric[];
}

/**
 * The resources of the type matching the body's filter (or `?filter=`), as `search resource` lets
 * the caller see them, sorted by the groupby attributes; at most a page (`maxLimit`), as Gnocchi.
 */
async function searchResources(
  ctx: RouteContext,
  request: FastifyRequest,
  type: string,
  groupby: readonly string[],
): Promise<Resource[]> {
  const principal = ctx.principal(request);
  const filter = request.body !== undefined ? request.body : queryValue(request.query as Query, 'filter');
  try {
    return await ctx.deps.index.resources.search({
      type,
      creator: principal.creator,
      limit: ctx.config.maxLimit,
      ...(groupby.length > 0 ? { sort: groupby } : {}),
      ...(filter !== undefined && filter !== '' ? { filter } : {}),
      ...policyScope(principal, 'search resource'),
    });
  } catch (err) {
    if (err instanceof GranaryError && err.code === 'INDEX_INVALID_PAGINATION') {
      throw describedRestError('REST_INVALID_INPUT', 'Invalid groupby attribute');
    }
    throw err;
  }
}

/** The active metric `name` of each resource that has one, in the resources' order. */
async function metricsNamed(
  ctx: RouteContext,
  resources: readonly Resource[],
  name: string,
): Promise<Metric[]> {
  const ids = resources.flatMap((r) => (Object.hasOwn(r.metrics, name) ? [r.metrics[name]!] : []));
  checkReferenceCount(ctx, ids);
  const found = await Promise.all(ids.map((id) => ctx.deps.index.metrics.get(id)));
  return found.filter((metric): metric is Metric => metric?.status === 'active');
}

/** Gnocchi's AggregationDoesNotExist, as the legacy endpoints word it (a 404). */
const noSuchAggregation = (method: string, granularity: number, metric: Metric) =>
  describedRestError(
    'REST_NOT_FOUND',
    `Aggregation method '${method}' at granularity '${pyFloatRepr(granularity)}' for metric ${metric.id} does not exist`,
  );

/**
 * Gnocchi's `get_cross_metric_measures_from_objs`: the query arguments checked first, then `get
 * metric` on each metric, then (with metrics) resample and granularities; rows `[time, granularity,
 * value]`, coarsest granularity first.
 */
async function crossMetricMeasures(ctx: RouteContext, request: FastifyRequest, metrics: readonly Metric[]) {
  const query = request.query as Query;
  const aggregation = queryValue(query, 'aggregation') ?? 'mean';
  const reaggregation = queryValue(query, 'reaggregation') ?? aggregation;
  const args = { ...aggregatesArguments(query, false), refresh: strictBool(query, 'refresh') };
  const principal = ctx.principal(request);
  for (const metric of metrics) await authorizeMetric(ctx, principal, 'get metric', metric);
  if (metrics.length === 0) return [];
  const resampleTo = resampleOf(query, args.granularity);
  const granularities = granularitiesOf(metrics, aggregation, args.granularity);
  for (const metric of metrics) {
    const available = metric.archivePolicy.definition.map((item) => item.granularity);
    const missing = granularities.find((g) => !available.includes(g));
    if (missing !== undefined) throw noSuchAggregation(aggregation, missing, metric);
  }
  if (metrics.length === 1)
    return singleMetricMeasures(ctx, metrics[0]!, aggregation, granularities, resampleTo, args);
  const unknownMethod = metrics.find(
    (metric) => !metric.archivePolicy.aggregationMethods.includes(aggregation),
  );
  if (unknownMethod) {
    throw noSuchAggregation(
      aggregation,
      unknownMethod.archivePolicy.definition[0]!.granularity,
      unknownMethod,
    );
  }
  // Gnocchi fails with a 500 on a method `aggregate` does not know; refused here.
  if (!(REDUCERS as readonly string[]).includes(reaggregation.replace(/^rate:/, ''))) {
    throw argumentError(
      'reaggregation',
      `Must be one of ${REDUCERS.join(', ')}, optionally prefixed with rate:`,
    );
  }
  const series: Operation = {
    kind: 'metric',
    references: metrics.map((metric) => ({ metric: metric.id, aggregation })),
  };
  const byId = new Map(metrics.map((metric) => [metric.id, metric]));
  if (typeof resampleTo === 'string') {
    return calendarResampled(ctx, series, byId, args, { aggregation, reaggregation, unit: resampleTo });
  }
  const operand: Operation =
    resampleTo === undefined
      ? series
      : { kind: 'resample', method: aggregation, granularitySeconds: resampleTo, operand: series };
  const result = await evaluateMetrics(
    ctx,
    { kind: 'aggregate', method: reaggregation, operand },
    byId,
    args,
  );
  return rowsJson(result.series.map(rowsOf));
}

const TRUE_TEXTS = ['1', 't', 'true', 'on', 'y', 'yes'];
const FALSE_TEXTS = ['0', 'f', 'false', 'off', 'n', 'no'];

/** oslo's `bool_from_string(strict=True)`, as Gnocchi's `strtobool` reads `refresh`. */
function strictBool(query: Query, name: string): boolean {
  const raw = queryValue(query, name);
  if (raw === undefined) return false;
  const text = raw.trim().toLowerCase();
  if (TRUE_TEXTS.includes(text)) return true;
  if (FALSE_TEXTS.includes(text)) return false;
  const acceptable = [...TRUE_TEXTS, ...FALSE_TEXTS]
    .sort()
    .map((t) => `'${t}'`)
    .join(', ');
  throw describedRestError(
    'REST_INVALID_INPUT',
    `Unable to parse \`${name}': Unrecognized value '${raw}', acceptable values are: ${acceptable}`,
  );
}

/**
 * A calendar resample of several metrics, in Gnocchi's order of steps, each the engine's (whose
 * `resample` takes fixed granularities only): the series aligned at each granularity (fill,
 * needed_overlap), each resampled to the calendar unit, then reduced across the metrics.
 */
async function calendarResampled(
  ctx: RouteContext,
  series: Operation,
  metrics: ReadonlyMap<string, Metric>,
  args: AggregatesArguments,
  how: { aggregation: string; reaggregation: string; unit: CalendarUnit },
) {
  // Gnocchi resamples the aligned grid with its gaps (NaN), which `dropna` only drops from the
  // final output: the grid is read as with `null`.
  const gridArgs: AggregatesArguments = args.fill === 'dropna' ? { ...args, fill: 'null' } : args;
  const aligned = await evaluateMetrics(ctx, series, metrics, gridArgs);
  const resampled = new Map<number, Map<string, Points>>();
  for (const { reference, granularitySeconds, timestamps, values } of aligned.series) {
    const byReference = resampled.get(granularitySeconds) ?? new Map<string, Points>();
    resampled.set(granularitySeconds, byReference);
    byReference.set(referenceKey(reference!), resample({ timestamps, values }, how.unit, how.aggregation));
  }
  const reduced = evaluateOperations(
    { kind: 'aggregate', method: how.reaggregation, operand: series },
    [...resampled].map(([granularitySeconds, byReference]) => ({ granularitySeconds, series: byReference })),
    // Gnocchi drops non-finite points from the output for the named fill modes but `null` only.
    { fill: typeof args.fill === 'string' && args.fill !== 'null' ? 'dropna' : 'null', neededOverlap: 0 },
  );
  return rowsJson(
    reduced.series.map(({ timestamps, values }) => ({
      points: { timestamps, values },
      granularity: how.unit,
    })),
  );
}

/** `resample` (a timespan or a calendar letter) needs an explicit granularity. */
function resampleOf(query: Query, granularity: number | undefined): number | CalendarUnit | undefined {
  const raw = queryValue(query, 'resample');
  if (raw === undefined || raw === '') return undefined;
  if (granularity === undefined) {
    throw describedRestError('REST_INVALID_INPUT', 'A granularity must be specified to resample');
  }
  if ((CALENDAR_UNITS as readonly string[]).includes(raw)) return raw as CalendarUnit;
  const parsed = parseTimespan(raw);
  if ('error' in parsed) throw describedRestError('REST_INVALID_INPUT', parsed.error);
  return parsed.seconds;
}

/** The asked granularity, else those every metric has (in the first metric's order). */
function granularitiesOf(
  metrics: readonly Metric[],
  aggregation: string,
  asked: number | undefined,
): number[] {
  if (asked !== undefined) return [asked];
  const [first, ...rest] = metrics.map((metric) =>
    metric.archivePolicy.definition.map((item) => item.granularity),
  );
  const common = first!.filter((g) => rest.every((list) => list.includes(g)));
  if (common.length === 0) {
    throw describedRestError('REST_INVALID_INPUT', {
      cause: 'Metrics cannot be aggregated',
      reason: 'No granularity match',
      detail: metrics.map((metric) => [metric.id, aggregation]),
    });
  }
  return common;
}

/** One metric: its series as stored (resampled if asked), without needed_overlap or fill. */
async function singleMetricMeasures(
  ctx: RouteContext,
  metric: Metric,
  aggregation: string,
  granularities: readonly number[],
  resampleTo: number | CalendarUnit | undefined,
  args: AggregatesArguments,
) {
  if (!metric.archivePolicy.aggregationMethods.includes(aggregation)) {
    throw describedRestError('REST_NOT_FOUND', {
      cause: 'Aggregation method does not exist for this metric',
      reason: `Aggregation method '${aggregation}' for metric ${metric.id} does not exist`,
      detail: { metric: metric.id, aggregation_method: aggregation },
    });
  }
  const series = await measureReader(ctx).read({
    metric,
    aggregation,
    granularities,
    ...(args.start !== undefined ? { start: args.start } : {}),
    ...(args.stop !== undefined ? { stop: args.stop } : {}),
    refresh: args.refresh,
  });
  return rowsJson(
    [...series]
      .sort((a, b) => b.granularitySeconds - a.granularitySeconds)
      .map(({ granularitySeconds, points }) => {
        if (resampleTo === undefined) return { points, granularity: granularitySeconds };
        const unit = typeof resampleTo === 'number' ? resampleTo * 1e6 : resampleTo;
        return { points: resample(points, unit, aggregation), granularity: resampleTo };
      }),
  );
}
