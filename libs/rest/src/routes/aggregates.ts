import {
  type EvaluationResult,
  FILL_MODES,
  type Fill,
  type GranularityInput,
  type MetricReference,
  type Operation,
  type OutputSeries,
  evaluateOperations,
  expandReferences,
  parseOperations,
  referenceKey,
  referencesOf,
} from '@granary/aggregates';
import { parseTimespan, parseTimestamp } from '@granary/carbonara';
import { fnmatch, parseUuid } from '@granary/index';
import { JsonText, PyFloat, pyRepr } from '@granary/python-format';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteContext } from '../app.ts';
import { describedRestError, undecodableBody } from '../errors.ts';
import { type MeasureSeriesRows, measureRowsJson } from '../format.ts';
import { type Query, queryValue, queryValues } from '../pagination.ts';
import type { Metric, Points, Resource, ResourceType } from '../ports.ts';
import { argumentError, invalidInputError } from '../validation.ts';
import { measureReader } from './measures.ts';
import { formatMetric } from './metrics.ts';
import { authorizeMetric } from './metrics.ts';
import { formatResource, policyScope, typeOf } from './resources.ts';

export interface AggregatesArguments {
  start?: number;
  stop?: number;
  granularity?: number;
  neededOverlap: number;
  fill?: Fill;
  details: boolean;
  refresh: boolean;
  /** Resource attributes to group by (sorted, each once, as Gnocchi); resource form only. */
  groupby: string[];
  /** Search past revisions too, each contributing its metrics' points of its own time (resource form). */
  useHistory: boolean;
}

/** The body: operations, and for the resource form the type searched and its filter (either form). */
interface AggregatesBody {
  operations: unknown;
  resourceSearch?: { type: string; filter?: unknown };
}

/** A revision's validity, epoch µs: `[start, end)`, `end` null for the current revision. */
interface TimeWindow {
  start: number;
  end: number | null;
}

/**
 * `POST /v1/aggregates`, by metric ids or by metric names on the resources a search finds: the
 * operations language of `@granary/aggregates` over the stored aggregates. Query arguments are
 * checked before the body, as Gnocchi does. The legacy `/v1/aggregation/*` is in aggregation.ts.
 */
export function registerAggregatesRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post('/v1/aggregates', { config: { bodyOptional: true } }, async (request) => {
    const args = aggregatesArguments(request.query as Query);
    const body = aggregatesBody(request.body);
    const operation = parseOperations(body.operations);
    if (referencesOf(operation).length === 0) {
      throw describedRestError('REST_INVALID_INPUT', {
        cause: 'Operations is invalid',
        reason: "At least one 'metric' is required",
        detail: body.operations,
      });
    }
    checkReferenceCount(
      ctx,
      referencesOf(operation).map((ref) => ref.metric),
    );
    if (body.resourceSearch) {
      checkPatternLengths(ctx, referencesOf(operation));
      return aggregateFoundResources(ctx, request, operation, body.resourceSearch, args);
    }
    const { result, metrics } = await aggregate(ctx, request, operation, args);
    // Gnocchi's order: measures, then references.
    return {
      measures: formatMeasures(result, (metricId) => [metricId]),
      ...(args.details ? { references: [...metrics.values()].map(formatMetric) } : {}),
    };
  });
}

/** Resolves the operations' metric ids, reads their series and evaluates them. */
async function aggregate(
  ctx: RouteContext,
  request: FastifyRequest,
  operation: Operation,
  args: AggregatesArguments,
): Promise<{ result: EvaluationResult; metrics: Map<string, Metric> }> {
  const metrics = await visibleMetrics(ctx, request, referencesOf(operation));
  return { result: await evaluateMetrics(ctx, operation, metrics, args), metrics };
}

/**
 * Reads the series of the operations' references (metric ids, all in `metrics`) through the one
 * measure reader and evaluates the operations. With `windows`, a metric keeps only the points whose
 * bucket starts inside one of its windows.
 */
export async function evaluateMetrics(
  ctx: RouteContext,
  operation: Operation,
  metrics: ReadonlyMap<string, Metric>,
  args: AggregatesArguments,
  windows?: ReadonlyMap<string, readonly TimeWindow[]>,
): Promise<EvaluationResult> {
  const references = referencesOf(operation);
  checkAggregationMethods(references, metrics);
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
      const metricWindows = windows?.get(ref.metric);
      for (const { granularitySeconds, points } of series) {
        seriesByGranularity
          .get(granularitySeconds)
          ?.set(referenceKey(ref), metricWindows ? pointsWithin(points, metricWindows) : points);
      }
    }),
  );
  const inputs: GranularityInput[] = [...seriesByGranularity].map(([granularitySeconds, series]) => ({
    granularitySeconds,
    series,
  }));
  return evaluateOperations(operation, inputs, {
    neededOverlap: args.neededOverlap,
    ...(args.fill !== undefined ? { fill: args.fill } : {}),
    ...(args.start !== undefined ? { start: args.start } : {}),
    ...(args.stop !== undefined ? { stop: args.stop } : {}),
  });
}

function pointsWithin(points: Points, windows: readonly TimeWindow[]): Points {
  return pointsWhere(points, (t) => windows.some((w) => t >= w.start && (w.end === null || t < w.end)));
}

/** The points for which `keep(timestamp, value)` holds. */
export function pointsWhere(points: Points, keep: (timestamp: number, value: number) => boolean): Points {
  const kept: number[] = [];
  for (let i = 0; i < points.timestamps.length; i++) {
    if (keep(points.timestamps[i]!, points.values[i]!)) kept.push(i);
  }
  return {
    timestamps: Float64Array.from(kept, (i) => points.timestamps[i]!),
    values: Float64Array.from(kept, (i) => points.values[i]!),
  };
}

/**
 * The resource form: the operations' references are metric name patterns (fnmatch), matched against
 * the metrics of the resources a search finds, the search restricted as `/v1/search/resource` does.
 * Without `groupby`, one computation over every found resource; with it, one per group of equal
 * attribute values (groups without a matching metric are left out, as Gnocchi does).
 */
async function aggregateFoundResources(
  ctx: RouteContext,
  request: FastifyRequest,
  operation: Operation,
  search: NonNullable<AggregatesBody['resourceSearch']>,
  args: AggregatesArguments,
) {
  const principal = ctx.principal(request);
  const resources = await ctx.deps.index.resources.search({
    type: search.type,
    creator: principal.creator,
    history: args.useHistory,
    ...(search.filter !== undefined && search.filter !== '' ? { filter: search.filter } : {}),
    ...policyScope(principal, 'search resource'),
    // Gnocchi sorts by the groupby attributes and groups consecutive resources.
    ...(args.groupby.length > 0 ? { sort: args.groupby } : {}),
  });
  const patterns = referencesOf(operation);
  const scope: Scope = {
    definition: await typeOf(ctx, search.type),
    ...(args.useHistory
      ? { windowOf: await revisionWindows(ctx, search.type, principal.creator, resources) }
      : {}),
  };
  if (args.groupby.length === 0) {
    const measures = await aggregateResources(ctx, operation, patterns, resources, scope, args);
    if (!measures) throw metricsNotFound(patterns);
    return measures;
  }
  const results: { group: Record<string, unknown>; measures: unknown }[] = [];
  for (const { group, members } of groupsOf(resources, scope.definition, args.groupby)) {
    // One group at a time: a groupby on `id` can make thousands of groups, each reading its series.
    const measures = await aggregateResources(ctx, operation, patterns, members, scope, args);
    if (measures) results.push({ group, measures });
  }
  if (results.length === 0) throw metricsNotFound(patterns);
  return results;
}

/** How the found resources are shown, and with use_history, the time each revision stands for. */
interface Scope {
  definition: ResourceType | undefined;
  windowOf?: (revision: Resource) => TimeWindow;
}

/**
 * With use_history, a revision stands for the points of its own time, `[revision_start,
 * revision_end)`; a resource's first revision also for everything before it, so that measures
 * older than the resource's record (backfills, the first samples) keep the first attributes.
 * The first revisions are found with one more search: over every revision of the found resources.
 */
async function revisionWindows(
  ctx: RouteContext,
  type: string,
  creator: string | null,
  revisions: readonly Resource[],
): Promise<(revision: Resource) => TimeWindow> {
  const ids = [...new Set(revisions.map((revision) => revision.id))];
  const all =
    ids.length === 0
      ? []
      : await ctx.deps.index.resources.search({ type, creator, history: true, filter: { in: { id: ids } } });
  const firstStart = new Map<string, number>();
  for (const revision of all) {
    const known = firstStart.get(revision.id);
    if (known === undefined || revision.revisionStart < known)
      firstStart.set(revision.id, revision.revisionStart);
  }
  return (revision) => ({
    start:
      firstStart.get(revision.id) === revision.revisionStart
        ? Number.NEGATIVE_INFINITY
        : revision.revisionStart,
    end: revision.revisionEnd,
  });
}

/** Consecutive resources (sorted by the attributes) with equal values, as Python's itertools.groupby. */
export function groupsOf(
  resources: readonly Resource[],
  definition: ResourceType | undefined,
  attributes: readonly string[],
): { group: Record<string, unknown>; members: Resource[] }[] {
  const groups: { group: Record<string, unknown>; key: string; members: Resource[] }[] = [];
  for (const resource of resources) {
    const shown = formatResource(resource, definition);
    const group: Record<string, unknown> = Object.create(null);
    for (const attribute of attributes)
      group[attribute] = Object.hasOwn(shown, attribute) ? (shown[attribute] ?? null) : null;
    const key = JSON.stringify(group);
    const last = groups.at(-1);
    if (last?.key === key) last.members.push(resource);
    else groups.push({ group, key, members: [resource] });
  }
  return groups.map(({ group, members }) => ({ group, members }));
}

/**
 * One computation over some resources: each pattern stands for the matching metrics of the
 * resources (in search order, names sorted, each metric once). Undefined when nothing matches
 * (Gnocchi's NoSuchMetric). Plain series are keyed `resource id → metric name → method`.
 */
async function aggregateResources(
  ctx: RouteContext,
  operation: Operation,
  patterns: readonly MetricReference[],
  resources: readonly Resource[],
  scope: Scope,
  args: AggregatesArguments,
) {
  const expansions = new Map(patterns.map((pattern) => [referenceKey(pattern), [] as MetricReference[]]));
  const owners = new Map<string, { resourceId: string; name: string; windows: TimeWindow[] }>();
  const contributing: Resource[] = [];
  for (const resource of resources) {
    const names = Object.keys(resource.metrics).sort();
    let contributes = false;
    for (const name of names) {
      const matching = patterns.filter((pattern) => fnmatch(name, pattern.metric));
      if (matching.length === 0) continue;
      contributes = true;
      const metricId = resource.metrics[name]!;
      const owner = owners.get(metricId) ?? { resourceId: resource.id, name, windows: [] };
      owners.set(metricId, owner);
      if (scope.windowOf) owner.windows.push(scope.windowOf(resource));
      for (const pattern of matching) {
        const expansion = expansions.get(referenceKey(pattern))!;
        if (!expansion.some((ref) => ref.metric === metricId)) {
          expansion.push({ metric: metricId, aggregation: pattern.aggregation });
        }
      }
    }
    if (contributes) contributing.push(resource);
  }
  checkReferenceCount(ctx, [...owners.keys()]);
  // A metric deleted since the search is as good as absent.
  const found = await ctx.deps.index.metrics.getMany([...owners.keys()]);
  const metrics = new Map(found.map((metric) => [metric.id, metric]));
  if (metrics.size === 0) return undefined;
  const expanded = expandReferences(operation, (pattern) =>
    expansions.get(referenceKey(pattern))!.filter((ref) => metrics.has(ref.metric)),
  );
  const windows = scope.windowOf
    ? new Map([...owners].map(([metricId, owner]) => [metricId, owner.windows]))
    : undefined;
  const result = await evaluateMetrics(ctx, expanded, metrics, args, windows);
  return {
    measures: formatMeasures(result, (metricId) => {
      const owner = owners.get(metricId)!;
      return [owner.resourceId, owner.name];
    }),
    ...(args.details ? { references: contributing.map((r) => formatResource(r, scope.definition)) } : {}),
  };
}

/** Each metric costs an index read and a series read: one request may not name more than the limit. */
export function checkReferenceCount(ctx: RouteContext, metricIds: readonly string[]) {
  const limit = ctx.config.maxMetricsPerAggregation;
  const count = new Set(metricIds).size;
  if (count > limit) {
    throw describedRestError('REST_INVALID_INPUT', {
      cause: 'Too many metrics',
      reason: `${count} metrics referenced, at most ${limit} per request`,
      detail: ['operations'],
    });
  }
}

/** Metric names are at most 255 characters: a much longer pattern is a mistake or an attack. */
function checkPatternLengths(ctx: RouteContext, patterns: readonly MetricReference[]) {
  const limit = ctx.config.maxGlobLength;
  if (patterns.some((pattern) => pattern.metric.length > limit)) {
    throw describedRestError('REST_INVALID_INPUT', {
      cause: 'Invalid input',
      reason: `Metric name patterns are at most ${limit} characters`,
      detail: ['operations'],
    });
  }
}

/**
 * Gnocchi's NoSuchMetric for name patterns matching no metric of the found resources (in any group):
 * a 404 naming the sorted patterns as Python prints the list.
 */
function metricsNotFound(patterns: readonly MetricReference[]) {
  const names = [...new Set(patterns.map((pattern) => pattern.metric))].sort();
  return describedRestError('REST_NOT_FOUND', `Metric ${pyRepr(names)} does not exist`);
}

/** A series' rows at its granularity. */
export const rowsOf = (series: OutputSeries): MeasureSeriesRows => ({
  points: series,
  granularity: series.granularitySeconds,
});

/**
 * Rows `[time, granularity, value]` of each series in turn, granularity and values as Python's
 * floats (`60.0`) as Gnocchi prints them, written by the measures body's byte writer.
 */
export const rowsJson = (series: readonly MeasureSeriesRows[]) =>
  new JsonText(measureRowsJson(series).toString('latin1'));

/**
 * `{"aggregated": rows}` once combined, else the rows of each series under the keys `keysOf` gives
 * its metric (its id; or its resource's id and its name), then its method.
 */
function formatMeasures(result: EvaluationResult, keysOf: (metricId: string) => readonly string[]) {
  if (result.aggregated) return { aggregated: rowsJson(result.series.map(rowsOf)) };
  // Keys are metric ids, user-chosen metric names and methods: never keys of a plain object
  // (a metric named `__proto__` would otherwise write to Object.prototype).
  const tree: Record<string, unknown> = Object.create(null);
  // Each method's series, all granularities, written as rows once the tree is built.
  const leaves: { methods: Record<string, unknown>; aggregation: string; series: MeasureSeriesRows[] }[] = [];
  // A reference named twice is one series in Gnocchi's answer (a dict keyed by metric and method).
  const seen = new Set<string>();
  for (const series of result.series) {
    const { metric, aggregation } = series.reference!;
    // Per stored granularity: resampled, every granularity's series has the same one (Gnocchi lists them all).
    const key = `${metric}\n${aggregation}\n${series.sourceGranularitySeconds ?? series.granularitySeconds}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let methods = tree;
    for (const name of keysOf(metric)) {
      if (!Object.hasOwn(methods, name)) methods[name] = Object.create(null);
      methods = methods[name] as Record<string, unknown>;
    }
    if (!Object.hasOwn(methods, aggregation)) {
      const leaf = { methods, aggregation, series: [] };
      leaves.push(leaf);
      methods[aggregation] = leaf;
    }
    (methods[aggregation] as (typeof leaves)[number]).series.push(rowsOf(series));
  }
  for (const { methods, aggregation, series } of leaves) methods[aggregation] = rowsJson(series);
  return tree;
}

/** The query arguments; `dropnaByDefault` is the new API's default when neither fill nor overlap is given. */
export function aggregatesArguments(query: Query, dropnaByDefault = true): AggregatesArguments {
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
    groupby: [...new Set(queryValues(query, 'groupby'))].sort(),
    useHistory: flag('use_history'),
  };
}

/**
 * Gnocchi's body schema: `operations`, plus for the resource form `resource_type` (required with
 * `search`) and `search` (a JSON filter or the string form; absent means every resource of the type).
 */
function aggregatesBody(body: unknown): AggregatesBody {
  if (body === undefined) throw undecodableBody('Expected object or value');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidInputError('expected a dictionary', []);
  }
  const fields = body as Record<string, unknown>;
  const extra = Object.keys(fields).find((key) => !['operations', 'resource_type', 'search'].includes(key));
  if (extra) throw invalidInputError('extra keys not allowed', [extra], false);
  if (!('operations' in fields)) throw invalidInputError('required key not provided', ['operations'], false);
  if (!('resource_type' in fields)) {
    if ('search' in fields) throw invalidInputError('required key not provided', ['resource_type'], false);
    return { operations: fields.operations };
  }
  const { resource_type: type, search } = fields;
  if (typeof type !== 'string') throw invalidInputError('expected str', ['resource_type']);
  const searchIsFilter =
    typeof search === 'string' || (typeof search === 'object' && search !== null && !Array.isArray(search));
  if (search !== undefined && !searchIsFilter) throw invalidInputError('expected str', ['search']);
  return {
    operations: fields.operations,
    resourceSearch: { type, ...(search !== undefined ? { filter: search } : {}) },
  };
}

/** The referenced metrics by id; unknown ones are 404s, ones the caller may not read 403s. */
async function visibleMetrics(
  ctx: RouteContext,
  request: Parameters<RouteContext['principal']>[0],
  references: readonly MetricReference[],
): Promise<Map<string, Metric>> {
  const principal = ctx.principal(request);
  const ids = [...new Set(references.map((ref) => ref.metric))];
  // One query for them all: a hundred look-ups one by one cost more than the aggregation itself.
  const found = new Map((await ctx.deps.index.metrics.getMany(ids)).map((metric) => [metric.id, metric]));
  const metrics = new Map<string, Metric>();
  const unknown: string[] = [];
  for (const id of ids) {
    const metric = found.get(parseUuid(id) ?? id);
    if (metric) metrics.set(id, metric);
    else unknown.push(id);
  }
  if (unknown.length > 0) {
    throw describedRestError('REST_NOT_FOUND', {
      cause: 'Unknown metrics',
      reason: 'Unknown metrics',
      detail: unknown.sort(),
    });
  }
  // Gnocchi: unknown metrics are a 404 first, then each known one must pass `get metric` (403).
  for (const metric of metrics.values()) await authorizeMetric(ctx, principal, 'get metric', metric);
  return metrics;
}

/** A method the metric's archive policy does not compute is a 404. */
function checkAggregationMethods(
  references: readonly MetricReference[],
  metrics: ReadonlyMap<string, Metric>,
) {
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
        missing.map((ref) => [ref.metric, ref.aggregation, new PyFloat(asked)]),
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
