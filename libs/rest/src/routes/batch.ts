import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../app.ts';
import { describedRestError, undecodableBody } from '../errors.ts';
import { type Query, queryValue } from '../pagination.ts';
import type { MeasureBatch, MetricSpec } from '../ports.ts';
import { invalidInputError } from '../validation.ts';
import { measureWriter, parseMeasures } from './measures.ts';
import { authorizeMetric } from './metrics.ts';

type ParsedMeasures = Omit<MeasureBatch, 'metric_id'>;

/**
 * Gnocchi's two batch writes. Every measure is checked, every metric resolved (and, with
 * `create_metrics=true`, created) before anything is produced, so a refused batch writes nothing.
 */
export function registerBatchRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { index } = ctx.deps;

  app.post('/v1/batch/metrics/measures', { config: { bodyOptional: true } }, async (request, reply) => {
    const principal = ctx.principal(request);
    const now = Date.now() * 1000;
    const parsed = Object.entries(checkBatchSize(ctx, objectBody(request.body))).map(
      ([id, measures]) => [id, parseMeasures(measures, now)] as const,
    );
    const metrics = await Promise.all(parsed.map(([id]) => index.metrics.get(id)));
    const unknown = parsed
      .filter((_, i) => metrics[i]?.status !== 'active')
      .map(([id]) => canonicalId(id))
      .sort();
    if (unknown.length > 0) throw unknownMetrics(unknown);
    for (const metric of metrics) await authorizeMetric(ctx, principal, 'post measures', metric!);
    await measureWriter(ctx).write(
      parsed.map(([, measures], i) => ({ metric_id: metrics[i]!.id, ...measures })),
    );
    return reply.code(202).send();
  });

  app.post(
    '/v1/batch/resources/metrics/measures',
    { config: { bodyOptional: true } },
    async (request, reply) => {
      const principal = ctx.principal(request);
      const createMetrics = ['true', '1', 'yes'].includes(
        (queryValue(request.query as Query, 'create_metrics') ?? '').toLowerCase(),
      );
      const now = Date.now() * 1000;
      const body = checkBatchSize(ctx, objectBody(request.body));
      const resources = Object.entries(body).map(([rawId, byName]) => {
        const mapped = index.resourceId(rawId, principal.creator);
        if ('problem' in mapped) throw describedRestError('REST_INVALID_INPUT', mapped.problem);
        const metrics = Object.entries(objectBody(byName, [rawId])).map(([name, entry]) => ({
          name,
          ...namedMeasures(entry, [rawId, name], now),
        }));
        return { rawId, id: mapped.id, metrics };
      });
      const found = await Promise.all(resources.map((r) => index.resources.get('generic', r.id)));
      const missingResources = resources.filter((_, i) => !found[i]);
      if (createMetrics && missingResources.length > 0) {
        throw describedRestError('REST_INVALID_INPUT', {
          cause: 'Unknown resources',
          reason: 'Unknown resources',
          detail: missingResources.map((r) => ({ resource_id: r.id, original_resource_id: r.rawId })),
        });
      }
      const unknownNames = resources.flatMap((r, i) =>
        r.metrics
          .filter((m) => !found[i]?.metrics[m.name])
          .map((m) => ({ resource: r, index: i, metric: m })),
      );
      if (!createMetrics && unknownNames.length > 0) {
        throw unknownMetrics(
          unknownNames.map(({ resource, metric }) => `${resource.id}/${metric.name}`).sort(),
        );
      }
      // Gnocchi enforces `post measures` on every existing metric; the ones created here are the
      // caller's own. Checked before creating any, so a refused batch changes nothing.
      for (const [i, resource] of found.entries()) {
        for (const { name } of resources[i]!.metrics) {
          const metricId = resource?.metrics[name];
          const metric = metricId === undefined ? undefined : await index.metrics.get(metricId);
          if (metric) await authorizeMetric(ctx, principal, 'post measures', metric);
        }
      }
      for (const [i, resource] of found.entries()) {
        const toCreate = unknownNames.filter((u) => u.index === i);
        if (!resource || toCreate.length === 0) continue;
        const specs: Record<string, MetricSpec> = Object.fromEntries(
          toCreate.map(({ metric }) => [metric.name, metric.spec]),
        );
        found[i] = await index.resources.addMetrics('generic', resource.id, specs, {
          creator: principal.creator,
        });
      }
      const batches = resources.flatMap((r, i) =>
        r.metrics.map((m) => ({ metric_id: found[i]!.metrics[m.name]!, ...m.measures })),
      );
      await measureWriter(ctx).write(batches);
      return reply.code(202).send();
    },
  );
}

/** Each entry costs index reads: one batch may not name more than the configured number. */
function checkBatchSize(ctx: RouteContext, body: Record<string, unknown>): Record<string, unknown> {
  const limit = ctx.config.maxMetricsPerBatch;
  const count = Object.keys(body).length;
  if (count > limit) {
    throw describedRestError('REST_INVALID_INPUT', {
      cause: 'Too many entries',
      reason: `${count} entries in one batch, at most ${limit}`,
      detail: [],
    });
  }
  return body;
}

function objectBody(body: unknown, path: string[] = []): Record<string, unknown> {
  if (body === undefined && path.length === 0) throw undecodableBody('Expected object or value');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidInputError('expected a dictionary', path);
  }
  return body as Record<string, unknown>;
}

/** A named metric's entry: a measure list, or `{archive_policy_name?, unit?, measures}`. */
function namedMeasures(
  entry: unknown,
  path: string[],
  now: number,
): { measures: ParsedMeasures; spec: MetricSpec } {
  if (Array.isArray(entry)) return { measures: parseMeasures(entry, now), spec: {} };
  const object = objectBody(entry, path);
  const extra = Object.keys(object).find((key) => !['archive_policy_name', 'unit', 'measures'].includes(key));
  if (extra) throw invalidInputError('extra keys not allowed', [...path, extra], false);
  const { archive_policy_name: policy, unit } = object;
  if (policy !== undefined && typeof policy !== 'string')
    throw invalidInputError('expected str', [...path, 'archive_policy_name']);
  if (unit !== undefined && unit !== null && typeof unit !== 'string')
    throw invalidInputError('expected str', [...path, 'unit']);
  return {
    measures: parseMeasures(object.measures, now),
    spec: {
      ...(policy !== undefined ? { archivePolicyName: policy as string } : {}),
      ...(unit !== undefined ? { unit: unit as string | null } : {}),
    },
  };
}

const unknownMetrics = (names: readonly string[]) =>
  describedRestError('REST_INVALID_INPUT', `Unknown metrics: ${names.join(', ')}`);

/** UUIDs are reported in their canonical lowercase form, as Gnocchi prints them. */
function canonicalId(id: string): string {
  const hex = id.replaceAll('-', '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return id;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
