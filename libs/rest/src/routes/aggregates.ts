import {
  type EvaluationResult,
  FILL_MODES,
  type Fill,
  type GranularityInput,
  type MetricReference,
  type Operation,
  type OutputSeries,
  evaluateOperations,
  parseOperations,
  referenceKey,
  referencesOf,
} from '@granary/aggregates';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteContext } from '../app.ts';
import { mayAccess } from '../auth.ts';
import { describedRestError, undecodableBody } from '../errors.ts';
import { isoSecondsFromMicros } from '../format.ts';
import { type Query, queryValue, queryValues } from '../pagination.ts';
import type { Metric, Points } from '../ports.ts';
import { parseTimespan, parseTimestamp } from '../time-input.ts';
import { argumentError, invalidInputError } from '../validation.ts';
import { measureReader } from './measures.ts';
import { formatMetric } from './metrics.ts';

interface AggregatesArguments {
  start?: number;
  stop?: number;
  granularity?: number;
  neededOverlap: number;
  fill?: Fill;
  details: boolean;
  refresh: boolean;
}

/**
 * `POST /v1/aggregates` by metric ids (and the legacy `/v1/aggregation/metric`): the operations language of `@granary/aggregates` over the
 * stored aggregates. Query arguments are checked before the body, as Gnocchi does.
 */
export function registerAggregatesRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post('/v1/aggregates', { config: { bodyOptional: true } }, async (request) => {
    const args = aggregatesArguments(request.query as Query);
    const body = request.body;
    if (body === undefined) throw undecodableBody('Expected object or value');
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw invalidInputError('expected a dictionary', []);
    }
    const extra = Object.keys(body).find((key) => !['operations', 'resource_type', 'search'].includes(key));
    if (extra) throw invalidInputError('extra keys not allowed', [extra], false);
    if (!('operations' in body)) throw invalidInputError('required key not provided', ['operations'], false);
    if ('resource_type' in body || 'search' in body) {
      throw describedRestError(
        'REST_INVALID_INPUT',
        'Aggregating metrics found by a resource search is not supported yet',
      );
    }
    const operation = parseOperations((body as { operations: unknown }).operations);
    const { result, metrics } = await aggregate(ctx, request, operation, args);
    return {
      ...(args.details ? { references: [...metrics.values()].map(formatMetric) } : {}),
      measures: formatMeasures(result),
    };
  });

  // Gnocchi's legacy cross-metric aggregation: `reaggregation` of the metrics' `aggregation` series.
  const legacy = async (request: FastifyRequest) => {
    const query = request.query as Query;
    const ids = queryValues(query, 'metric');
    const aggregation = queryValue(query, 'aggregation') ?? 'mean';
    const reaggregation = queryValue(query, 'reaggregation') ?? aggregation;
    const args = aggregatesArguments(query, false);
    const principal = ctx.principal(request);
    for (const id of ids) {
      const metric = await ctx.deps.index.metrics.get(id);
      if (!metric || metric.status !== 'active' || !mayAccess(principal, { creator: metric.creator })) {
        const description = `Metric ${id} does not exist`;
        throw describedRestError('REST_NOT_FOUND', description);
      }
      if (!metric.archivePolicy.aggregationMethods.includes(aggregation)) {
        throw describedRestError('REST_NOT_FOUND', {
          cause: 'Aggregation method does not exist for this metric',
          reason: `Aggregation method '${aggregation}' for metric ${id} does not exist`,
          detail: { metric: id, aggregation_method: aggregation },
        });
      }
    }
    if (ids.length === 0) throw argumentError('metric', 'At least one metric is required');
    const references: Operation = {
      kind: 'metric',
      references: ids.map((metric) => ({ metric, aggregation })),
    };
    const operation: Operation =
      ids.length === 1 ? references : { kind: 'aggregate', method: reaggregation, operand: references };
    const { result } = await aggregate(ctx, request, operation, args);
    return result.series.flatMap(rowsOfSeries);
  };
  app.get('/v1/aggregation/metric', legacy);
  app.post('/v1/aggregation/metric', { config: { bodyOptional: true } }, legacy);
}

/** Resolves the operations' metrics, reads their series and evaluates them. */
async function aggregate(
  ctx: RouteContext,
  request: FastifyRequest,
  operation: Operation,
  args: AggregatesArguments,
): Promise<{ result: EvaluationResult; metrics: Map<string, Metric> }> {
  const references = referencesOf(operation);
  const metrics = await metricsOf(ctx, request, references);
  const granularities = granularitiesFor(references, metrics, args.granularity);
  const reader = measureReader(ctx);
  const seriesByGranularity = new Map(granularities.map((g) => [g, new Map<string, Points>()]));
  await Promise.all(
    references.map(async (ref) => {
      const series = await reader.read({
        metric: metrics.get(ref.metric)!,
        aggregation: ref.aggregation,
        granularities,
        ...(args.start !== undefined ? { start: args.start } : {}),
        ...(args.stop !== undefined ? { stop: args.stop } : {}),
        refresh: args.refresh,
      });
      for (const { granularitySeconds, points } of series) {
        seriesByGranularity.get(granularitySeconds)?.set(referenceKey(ref), points);
      }
    }),
  );
  const inputs: GranularityInput[] = [...seriesByGranularity].map(([granularitySeconds, series]) => ({
    granularitySeconds,
    series,
  }));
  const result = evaluateOperations(operation, inputs, {
    neededOverlap: args.neededOverlap,
    ...(args.fill !== undefined ? { fill: args.fill } : {}),
    ...(args.start !== undefined ? { start: args.start } : {}),
    ...(args.stop !== undefined ? { stop: args.stop } : {}),
  });
  return { result, metrics };
}

const rowsOfSeries = (series: OutputSeries) =>
  [...series.timestamps].map((t, i) => [
    isoSecondsFromMicros(t),
    series.granularitySeconds,
    series.values[i]!,
  ]);

/** `{"aggregated": rows}` once combined, else `{metric id: {method: rows}}`. */
function formatMeasures(result: EvaluationResult) {
  if (result.aggregated) return { aggregated: result.series.flatMap(rowsOfSeries) };
  const byMetric: Record<string, Record<string, unknown[][]>> = {};
  // A reference named twice is one series in Gnocchi's answer (a dict keyed by metric and method).
  const seen = new Set<string>();
  for (const series of result.series) {
    const { metric, aggregation } = series.reference!;
    const key = `${metric}\n${aggregation}\n${series.granularitySeconds}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const methods = byMetric[metric] ?? {};
    byMetric[metric] = methods;
    methods[aggregation] = [...(methods[aggregation] ?? []), ...rowsOfSeries(series)];
  }
  return byMetric;
}

/** The query arguments; `dropnaByDefault` is the new API's default when neither fill nor overlap is given. */
function aggregatesArguments(query: Query, dropnaByDefault = true): AggregatesArguments {
  const now = Date.now() * 1000;
  const timestamp = (name: string) => {
    const raw = queryValue(query, name);
    if (raw === undefined) return undefined;
    const parsed = parseTimestamp(raw, now);
    if ('error' in parsed) throw argumentError(name, 'Must be a datetime or a timestamp');
    return parsed.micros;
  };
  const rawOverlap = queryValue(query, 'needed_overlap');
  const neededOverlap = rawOverlap === undefined ? 100 : Number(rawOverlap);
  if (rawOverlap !== undefined && (rawOverlap.trim() === '' || Number.isNaN(neededOverlap))) {
    throw argumentError('needed_overlap', 'Must be a number');
  }
  const rawGranularity = queryValue(query, 'granularity');
  let granularity: number | undefined;
  if (rawGranularity !== undefined) {
    const parsed = parseTimespan(rawGranularity);
    if ('error' in parsed) throw argumentError('granularity', parsed.error);
    granularity = parsed.seconds;
  }
  const rawFill = queryValue(query, 'fill');
  let fill: Fill | undefined;
  if (rawFill !== undefined) {
    if (FILL_MODES.includes(rawFill)) fill = rawFill as Fill;
    else if (rawFill.trim() !== '' && !Number.isNaN(Number(rawFill))) fill = Number(rawFill);
    else {
      throw argumentError(
        'fill',
        "Must be a float, 'dropna', 'null', 'ffill', 'bfill', 'full_ffill' or 'full_bfill'",
      );
    }
  }
  // Gnocchi: with neither fill nor needed_overlap, each series keeps its own points.
  if (dropnaByDefault && fill === undefined && rawOverlap === undefined) fill = 'dropna';
  const flag = (name: string) => ['true', '1', 'yes'].includes((queryValue(query, name) ?? '').toLowerCase());
  const start = timestamp('start');
  const stop = timestamp('stop');
  return {
    ...(start !== undefined ? { start } : {}),
    ...(stop !== undefined ? { stop } : {}),
    ...(granularity !== undefined ? { granularity } : {}),
    ...(fill !== undefined ? { fill } : {}),
    neededOverlap,
    details: flag('details'),
    refresh: flag('refresh'),
  };
}

/** The referenced metrics by id; unknown (or not visible) ones and unknown methods are 404s. */
async function metricsOf(
  ctx: RouteContext,
  request: Parameters<RouteContext['principal']>[0],
  references: readonly MetricReference[],
): Promise<Map<string, Metric>> {
  const principal = ctx.principal(request);
  const ids = [...new Set(references.map((ref) => ref.metric))];
  const found = await Promise.all(ids.map((id) => ctx.deps.index.metrics.get(id)));
  const metrics = new Map<string, Metric>();
  const unknown: string[] = [];
  ids.forEach((id, i) => {
    const metric = found[i];
    if (metric && metric.status === 'active' && mayAccess(principal, { creator: metric.creator }))
      metrics.set(id, metric);
    else unknown.push(id);
  });
  if (unknown.length > 0) {
    throw describedRestError('REST_NOT_FOUND', {
      cause: 'Unknown metrics',
      reason: 'Unknown metrics',
      detail: unknown.sort(),
    });
  }
  const unknownMethods = references.filter(
    (ref) => !metrics.get(ref.metric)!.archivePolicy.aggregationMethods.includes(ref.aggregation),
  );
  if (unknownMethods.length > 0) {
    throw describedRestError('REST_NOT_FOUND', {
      cause: 'Metrics with unknown aggregation',
      reason: 'Metrics with unknown aggregation',
      detail: unknownMethods.map((ref) => [ref.metric, ref.aggregation]),
    });
  }
  return metrics;
}

/** The asked granularity (which every metric must have), else those common to all metrics. */
function granularitiesFor(
  references: readonly MetricReference[],
  metrics: ReadonlyMap<string, Metric>,
  asked: number | undefined,
): number[] {
  const granularitiesOf = (ref: MetricReference) =>
    metrics.get(ref.metric)!.archivePolicy.definition.map((item) => item.granularity);
  const cannot = (reason: string, detail: unknown[]) =>
    describedRestError('REST_INVALID_INPUT', {
      cause: 'Metrics cannot be aggregated',
      reason,
      detail,
    });
  if (asked !== undefined) {
    const missing = references.filter((ref) => !granularitiesOf(ref).includes(asked));
    if (missing.length > 0) {
      throw cannot(
        'Granularities are missing',
        missing.map((ref) => [ref.metric, ref.aggregation, asked]),
      );
    }
    return [asked];
  }
  const [first, ...rest] = references.map(granularitiesOf);
  const common = (first ?? []).filter((g) => rest.every((list) => list.includes(g)));
  if (common.length === 0) {
    throw cannot(
      'No granularity match',
      references.map((ref) => [ref.metric, ref.aggregation]),
    );
  }
  return common;
}
