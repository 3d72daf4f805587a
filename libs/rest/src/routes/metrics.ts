import { GranaryError } from '@granary/errors';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteContext } from '../app.ts';
import type { Principal } from '../auth.ts';
import { describedRestError, restError } from '../errors.ts';
import { pythonQuote } from '../http.ts';
import { DEFAULT_SORT, type Query, pageRequest, queryValue, setNextLink } from '../pagination.ts';
import {
  type PolicyRule,
  authorize,
  metricNeedsResource,
  metricPolicyFilter,
  metricTarget,
  resourceTarget,
} from '../policy.ts';
import type { IndexPort, Metric, MetricListFilter, MetricStatus } from '../ports.ts';
import { formatPolicy } from './archive-policies.ts';

const MetricBody = Type.Object(
  {
    archive_policy_name: Type.Optional(Type.String({ minLength: 1 })),
    name: Type.Optional(Type.String()),
    resource_id: Type.Optional(Type.String()),
    unit: Type.Optional(Type.String({ maxLength: 31 })),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String() });

/** `GET /v1/metric` query parameters that filter, and the index filter each sets. */
const LIST_FILTERS: Record<string, keyof MetricListFilter> = {
  id: 'id',
  name: 'name',
  unit: 'unit',
  archive_policy_name: 'archivePolicyName',
  creator: 'creator',
  user_id: 'createdByUserId',
  project_id: 'createdByProjectId',
  resource_id: 'resourceId',
  status: 'status',
};

/** `/v1/metric` (gnocchi.md §4) minus measures, which `measures.ts` serves. */
export function registerMetricRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { index } = ctx.deps;

  app.post('/v1/metric', { schema: { body: MetricBody } }, async (request, reply) => {
    const principal = ctx.principal(request);
    const body = request.body as Static<typeof MetricBody>;
    const resourceId =
      body.resource_id === undefined ? undefined : mapResourceId(index, body.resource_id, principal);
    if (resourceId !== undefined && !body.name) {
      throw describedRestError('REST_INVALID_INPUT', {
        cause: 'Attribute value error',
        reason: 'Name cannot be null if resource_id is not null',
        detail: 'name',
      });
    }
    if (resourceId !== undefined) {
      // Gnocchi: creating a metric on a resource is an update of that resource.
      const resource = await index.resources.get('generic', resourceId);
      if (!resource) {
        const description = `Resource ${resourceId} does not exist`;
        throw restError('REST_NOT_FOUND', description, { details: { description } });
      }
      authorize(principal, 'update resource', resourceTarget(resource));
    }
    let metric: Metric;
    try {
      metric = await index.metrics.create({
        creator: principal.creator,
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.unit !== undefined ? { unit: body.unit } : {}),
        ...(resourceId !== undefined ? { resourceId } : {}),
        ...(body.archive_policy_name !== undefined ? { archivePolicyName: body.archive_policy_name } : {}),
      });
    } catch (err) {
      // A fresh id cannot collide, so a conflict is the resource's named metric: Gnocchi says 400.
      if (err instanceof GranaryError && err.status === 409 && body.name) {
        throw describedRestError('REST_INVALID_INPUT', {
          cause: 'Named metric already exists',
          reason: `Named metric ${body.name} already exists`,
          detail: body.name,
        });
      }
      throw err;
    }
    reply.code(201).header('location', `${ctx.baseUrl(request)}/v1/metric/${pythonQuote(metric.id)}`);
    return formatMetric(metric);
  });

  app.get('/v1/metric', async (request, reply) => {
    const query = request.query as Query;
    const page = pageRequest(query, ctx.config.maxLimit);
    const filter: MetricListFilter = {};
    for (const [parameter, key] of Object.entries(LIST_FILTERS)) {
      const value = queryValue(query, parameter);
      if (value === undefined) continue;
      if (key === 'status') filter.status = value as MetricStatus;
      else filter[key] = value;
    }
    const metrics = await index.metrics.list(scopeToCaller(filter, ctx.principal(request)), page);
    setNextLink(request, reply, ctx.baseUrl(request), page, DEFAULT_SORT.metrics, metrics, (last) => last.id);
    return metrics.map(formatMetric);
  });

  app.get('/v1/metric/:id', { schema: { params: IdParams } }, async (request) =>
    formatMetric(await accessibleMetric(ctx, request, 'get metric')),
  );

  app.delete('/v1/metric/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const metric = await accessibleMetric(ctx, request, 'delete metric');
    await index.metrics.delete(metric.id);
    return reply.code(204).send();
  });
}

/** The active metric of the `:id` parameter if `rule` grants it: 404 when absent or deleted, else 403. */
export async function accessibleMetric(
  ctx: RouteContext,
  request: FastifyRequest,
  rule: PolicyRule,
): Promise<Metric> {
  const { id } = request.params as Static<typeof IdParams>;
  const metric = await ctx.deps.index.metrics.get(id);
  if (!metric || metric.status !== 'active') {
    const description = `Metric ${id} does not exist`;
    throw restError('REST_NOT_FOUND', description, { details: { description } });
  }
  await authorizeMetric(ctx, ctx.principal(request), rule, metric);
  return metric;
}

/**
 * Gnocchi's `enforce(rule, metric)`; the metric's resource is read only when its project is what
 * could still grant the rule (`metric_owner`).
 */
export async function authorizeMetric(
  ctx: RouteContext,
  principal: Principal,
  rule: PolicyRule,
  metric: Metric,
): Promise<void> {
  const resource =
    metric.resourceId !== null && metricNeedsResource(principal, rule, metric)
      ? await ctx.deps.index.resources.get('generic', metric.resourceId)
      : undefined;
  authorize(principal, rule, metricTarget(metric, resource));
}

/**
 * Gnocchi's `list metric` policy filter: a non-admin identity caller sees the metrics its project
 * created or whose resource is in its project (basic auth: every metric).
 */
function scopeToCaller(filter: MetricListFilter, principal: Principal): MetricListFilter {
  const scope = metricPolicyFilter(principal, 'list metric');
  if (!scope) return filter;
  return {
    ...filter,
    visibleTo: {
      ...(scope.createdByProject !== undefined ? { createdByProject: scope.createdByProject } : {}),
      ...(scope.resourceProject !== undefined ? { resourceProject: scope.resourceProject } : {}),
    },
  };
}

function mapResourceId(index: IndexPort, rawId: string, principal: Principal): string {
  const mapped = index.resourceId(rawId, principal.creator);
  if ('problem' in mapped) throw describedRestError('REST_INVALID_INPUT', mapped.problem);
  return mapped.id;
}

export function formatMetric(metric: Metric) {
  const [createdByUser, createdByProject] =
    metric.creator === null ? [null, null] : partition(metric.creator, ':');
  // Gnocchi's key order (Metric.jsonify in indexer/sqlalchemy_base.py).
  return {
    id: metric.id,
    creator: metric.creator,
    name: metric.name,
    unit: metric.unit,
    resource_id: metric.resourceId,
    archive_policy: formatPolicy(metric.archivePolicy),
    archive_policy_name: metric.archivePolicy.name,
    created_by_user_id: createdByUser,
    created_by_project_id: createdByProject,
  };
}

/** Python's `str.partition`: what is before and after the first separator ('' when absent). */
function partition(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, ''] : [text.slice(0, at), text.slice(at + separator.length)];
}
