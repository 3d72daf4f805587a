import { parseTimespan, parseTimestamp } from '@granary/carbonara';
import { parseUuid } from '@granary/index';
import { PyFloat, pyFloatRepr } from '@granary/python-format';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../app.ts';
import { describedRestError, restError } from '../errors.ts';
import { compileMeasureQuery } from '../measure-query.ts';
import { type Query, queryValue, queryValues } from '../pagination.ts';
import type { Metric } from '../ports.ts';
import { argumentError } from '../validation.ts';
import { checkReferenceCount, pointsWhere, rowsJson } from './aggregates.ts';
import { measureReader } from './measures.ts';
import { authorizeMetric } from './metrics.ts';

/**
 * `POST /v1/search/metric?metric_id=…`: the stored points of each metric whose value matches the
 * query in the body (`measure-query.ts`), `{metric id: [[time, granularity, value], …]}`, coarsest
 * granularity first. Unknown metric ids are left out, as Gnocchi does.
 */
export function registerSearchMetricRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post('/v1/search/metric', { config: { bodyOptional: true } }, async (request) => {
    const query = request.query as Query;
    const ids = queryValues(query, 'metric_id');
    checkReferenceCount(ctx, ids);
    const principal = ctx.principal(request);
    const metrics = await knownMetrics(ctx, ids);
    for (const metric of metrics) await authorizeMetric(ctx, principal, 'search metric', metric);
    if (request.body === undefined)
      throw describedRestError('REST_INVALID_INPUT', 'No query specified in body');
    const measureQuery = compileMeasureQuery(request.body);
    const now = Date.now() * 1000;
    const timestamp = (name: 'start' | 'stop') => {
      const raw = queryValue(query, name);
      if (raw === undefined) return {};
      const parsed = parseTimestamp(raw, now);
      if ('error' in parsed) throw describedRestError('REST_INVALID_INPUT', `Invalid value for ${name}`);
      return { [name]: parsed.micros };
    };
    const range = { ...timestamp('start'), ...timestamp('stop') };
    const asked = askedGranularities(query);
    const aggregation = queryValue(query, 'aggregation') ?? 'mean';
    const plans = metrics.map((metric) => {
      const available = metric.archivePolicy.definition.map((item) => item.granularity);
      const granularities = asked ?? [...available].sort((a, b) => b - a);
      const missing = granularities.find((g) => !available.includes(g));
      if (missing !== undefined || !metric.archivePolicy.aggregationMethods.includes(aggregation)) {
        throw noSuchAggregation(aggregation, missing ?? granularities[0] ?? 0, metric);
      }
      return { metric, granularities };
    });
    const reader = measureReader(ctx);
    let cost = 0;
    // Metric ids are keys here: the object has no prototype, and ids are canonical UUIDs anyway.
    const found: Record<string, unknown> = Object.create(null);
    for (const { metric, granularities } of plans) {
      const series = await reader.read({ metric, aggregation, granularities, ...range, refresh: false });
      cost += series.reduce((sum, { points }) => sum + points.values.length, 0) * measureQuery.nodes;
      if (cost > MAX_SEARCH_COST) throw searchTooCostly();
      found[metric.id] = rowsJson(
        [...series]
          .sort((a, b) => b.granularitySeconds - a.granularitySeconds)
          .map(({ granularitySeconds, points }) => ({
            points: pointsWhere(points, (_, value) => measureQuery.matches(value)),
            granularity: granularitySeconds,
          })),
      );
    }
    return found;
  });
}

/** Query nodes one search may evaluate (points searched × nodes): about 100 ms of one thread. */
export const MAX_SEARCH_COST = 5_000_000;

const searchTooCostly = () =>
  describedRestError('REST_INVALID_INPUT', {
    cause: 'Search too costly',
    reason: `More than ${MAX_SEARCH_COST} query nodes to evaluate over the points searched; narrow the metrics, granularities, time range or query`,
    detail: [],
  });

/** The active metrics among the ids, each once; ids that are not UUIDs or unknown are left out. */
async function knownMetrics(ctx: RouteContext, ids: readonly string[]): Promise<Metric[]> {
  const unique = [...new Set(ids.map(parseUuid).filter((id): id is string => id !== undefined))];
  const found = await Promise.all(unique.map((id) => ctx.deps.index.metrics.get(id)));
  return found.filter((metric): metric is Metric => metric?.status === 'active');
}

/** `granularity` may be repeated; coarsest first. Undefined: each metric's own. */
function askedGranularities(query: Query): number[] | undefined {
  const raw = queryValues(query, 'granularity');
  if (raw.length === 0) return undefined;
  return raw
    .map((text) => {
      const parsed = parseTimespan(text);
      if ('error' in parsed) throw argumentError('granularity', parsed.error);
      return parsed.seconds;
    })
    .sort((a, b) => b - a);
}

/** Gnocchi's AggregationDoesNotExist as its JSON (here a 400, as Gnocchi answers on this route). */
function noSuchAggregation(method: string, granularity: number, metric: Metric) {
  const description = {
    cause: 'Aggregation does not exist',
    detail: { granularity: new PyFloat(granularity), aggregation_method: method },
  };
  return restError(
    'REST_INVALID_INPUT',
    `Aggregation method '${method}' at granularity '${pyFloatRepr(granularity)}' for metric ${metric.id} does not exist`,
    {
      details: { description },
    },
  );
}
