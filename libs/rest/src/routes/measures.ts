import {
  type CalendarUnit,
  parseTimespan,
  parseTimestamp,
  resample,
  timestampForm,
} from '@granary/carbonara';
import { pyFloatRepr } from '@granary/python-format';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteContext } from '../app.ts';
import { describedRestError } from '../errors.ts';
import { JSON_CONTENT_TYPE, WrittenRows, measureRowsJson } from '../format.ts';
import { type Query, queryValue } from '../pagination.ts';
import type { PolicyRule } from '../policy.ts';
import type { MeasureBatch, MeasureReader, MeasureWriter, Metric } from '../ports.ts';
import { argumentError } from '../validation.ts';
import { accessibleMetric } from './metrics.ts';
import { namedMetric } from './resources.ts';

const CALENDAR_UNITS: readonly string[] = ['Y', 'H', 'Q', 'M', 'W'];
/** Gnocchi prints granularities as Python floats, calendar resamples as their letter. */
type OutputGranularity = number | CalendarUnit;

/**
 * Measures of one metric, by id or by resource and name: POST produces them (202 once the broker
 * acknowledged), GET reads the stored aggregates. Input is checked completely before anything is
 * written; without a wired writer or reader the routes answer 503 after those checks.
 */
export function registerMeasureRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const byId = (request: FastifyRequest, rule: PolicyRule) => accessibleMetric(ctx, request, rule);
  const byName = (request: FastifyRequest, rule: PolicyRule) => namedMetric(ctx, request, rule);
  const written = new WrittenRows(ctx.config.measuresBodyCacheBytes);
  for (const [url, find] of [
    ['/v1/metric/:id/measures', byId],
    ['/v1/resource/:type/:id/metric/:name/measures', byName],
  ] as const) {
    app.post(url, { config: { bodyOptional: true } }, async (request, reply) => {
      const metric = await find(request, 'post measures');
      const measures = parseMeasures(request.body, Date.now() * 1000);
      await measureWriter(ctx).write([{ metric_id: metric.id, ...measures }]);
      return reply.code(202).send();
    });
    app.get(url, async (request, reply) =>
      reply
        .type(JSON_CONTENT_TYPE)
        .send(await readMeasures(ctx, await find(request, 'get measures'), request.query as Query, written)),
    );
  }
}

/** The wired measure writer, or 503: the index side of the API works without it. */
export function measureWriter(ctx: RouteContext): MeasureWriter {
  const writer = ctx.deps.measures?.writer;
  if (!writer)
    throw describedRestError('REST_UNAVAILABLE', 'Measure writes are not configured in this deployment');
  return writer;
}

/** The wired measure reader, or 503. */
export function measureReader(ctx: RouteContext): MeasureReader {
  const reader = ctx.deps.measures?.reader;
  if (!reader)
    throw describedRestError('REST_UNAVAILABLE', 'Measure storage is not configured in this deployment');
  return reader;
}

/**
 * Gnocchi's measure list: `[{"timestamp": …, "value": …}]`, timestamps all in the form of the first
 * (epoch seconds, relative, or dates: Gnocchi converts the list as one array, so mixing forms is
 * refused), values numbers (or numeric text). NaN and infinities are refused: they cannot be
 * aggregated.
 */
export function parseMeasures(body: unknown, now: number): Omit<MeasureBatch, 'metric_id'> {
  const invalid = (reason: string) =>
    describedRestError('REST_INVALID_INPUT', { cause: 'Invalid input', reason, detail: [] });
  if (!Array.isArray(body)) throw invalid('unexpected measures format');
  const timestamps: number[] = [];
  const values: number[] = [];
  let form: ReturnType<typeof timestampForm> | undefined;
  for (const measure of body) {
    if (
      typeof measure !== 'object' ||
      measure === null ||
      Array.isArray(measure) ||
      !('timestamp' in measure)
    ) {
      throw invalid('unexpected measures format');
    }
    const { timestamp, value } = measure as { timestamp: unknown; value: unknown };
    form ??= timestampForm(timestamp);
    if (timestampForm(timestamp) !== form)
      throw invalid("unexpected timestamp 'Unable to convert timestamps'");
    const parsed = parseTimestamp(timestamp, now);
    if ('error' in parsed) throw invalid(parsed.error);
    const number = toNumber(value);
    if (number === undefined) throw invalid('unexpected measures format');
    if (!Number.isFinite(number)) throw invalid(`NaN and infinite values are not accepted: ${String(value)}`);
    timestamps.push(parsed.micros);
    values.push(number);
  }
  return { timestamps, values };
}

/** Python's `float()` of a JSON value: numbers, and text such as "12", "nan" or "-inf". */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/.test(text)) return Number(text);
  if (/^[+-]?nan$/.test(text)) return Number.NaN;
  if (/^[+-]?inf(?:inity)?$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  return undefined;
}

/** `GET …/measures`: `[[timestamp, granularity, value]]`, coarsest granularity first. */
async function readMeasures(ctx: RouteContext, metric: Metric, query: Query, written: WrittenRows) {
  const aggregation = queryValue(query, 'aggregation') ?? 'mean';
  const policy = metric.archivePolicy;
  if (!policy.aggregationMethods.includes(aggregation)) {
    throw describedRestError('REST_NOT_FOUND', {
      cause: 'Aggregation method does not exist for this metric',
      reason: `Aggregation method '${aggregation}' for metric ${metric.id} does not exist`,
      detail: { metric: metric.id, aggregation_method: aggregation },
    });
  }
  const granularity = optionalTimespan(query, 'granularity');
  const resampleTo = resampleOf(query, granularity);
  const now = Date.now() * 1000;
  const start = optionalTimestamp(query, 'start', now);
  const stop = optionalTimestamp(query, 'stop', now);
  const available = policy.definition.map((item) => item.granularity);
  if (granularity !== undefined && !available.includes(granularity)) {
    // Gnocchi's AggregationDoesNotExist: the granularity in seconds as Python prints a float.
    throw describedRestError(
      'REST_NOT_FOUND',
      `Aggregation method '${aggregation}' at granularity '${pyFloatRepr(granularity)}' for metric ${metric.id} does not exist`,
    );
  }
  const series = await measureReader(ctx).read({
    metric,
    aggregation,
    granularities: granularity === undefined ? available : [granularity],
    ...(start !== undefined ? { start } : {}),
    ...(stop !== undefined ? { stop } : {}),
    refresh: ['true', '1', 'yes'].includes((queryValue(query, 'refresh') ?? '').toLowerCase()),
  });
  const rows = [...series]
    .sort((a, b) => b.granularitySeconds - a.granularitySeconds)
    .map(({ granularitySeconds, points }) => {
      const reuseKey = `${metric.id} ${aggregation}`;
      if (resampleTo === undefined) return { points, granularity: granularitySeconds, reuseKey };
      const unit = typeof resampleTo === 'number' ? resampleTo * 1e6 : resampleTo;
      return { points: resample(points, unit, aggregation), granularity: resampleTo, reuseKey };
    });
  return measureRowsJson(rows, written);
}

function optionalTimespan(query: Query, name: string): number | undefined {
  const raw = queryValue(query, name);
  if (raw === undefined) return undefined;
  const parsed = parseTimespan(raw);
  if ('error' in parsed) throw argumentError(name, parsed.error);
  return parsed.seconds;
}

function optionalTimestamp(query: Query, name: string, now: number): number | undefined {
  const raw = queryValue(query, name);
  if (raw === undefined) return undefined;
  const parsed = parseTimestamp(raw, now);
  if ('error' in parsed) throw argumentError(name, 'Must be a datetime or a timestamp');
  return parsed.micros;
}

/** `resample` is a timespan or a calendar letter, and needs an explicit granularity. */
function resampleOf(query: Query, granularity: number | undefined): OutputGranularity | undefined {
  const raw = queryValue(query, 'resample');
  if (raw === undefined) return undefined;
  if (granularity === undefined) {
    throw describedRestError('REST_INVALID_INPUT', 'A granularity must be specified to resample');
  }
  if (CALENDAR_UNITS.includes(raw)) return raw as CalendarUnit;
  return optionalTimespan(query, 'resample');
}
