import { GranaryError } from '@granary/errors';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteContext } from '../app.ts';
import { type Principal, mayAccess } from '../auth.ts';
import { describedRestError, restError } from '../errors.ts';
import { pythonQuote } from '../http.ts';
import { DEFAULT_SORT, type Query, pageRequest, queryValue, setNextLink } from '../pagination.ts';
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
    const metrics = await index.metrics.list(scopeToCaller(filter, ctx.principal(request), ctx), page);
    setNextLink(request, reply, ctx.baseUrl(request), page, DEFAULT_SORT.metrics, metrics, (last) => last.id);
    return metrics.map(formatMetric);
  });

  app.get('/v1/metric/:id', { schema: { params: IdParams } }, async (request) =>
    formatMetric(await accessibleMetric(ctx, request)),
  );

  app.delete('/v1/metric/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const metric = await accessibleMetric(ctx, request);
    await index.metrics.delete(metric.id);
    return reply.code(204).send();
  });
}

/**
 * The active metric of the `:id` parameter if the caller may see it: 404 when absent or deleted,
 * 403 when it belongs to someone else (Gnocchi's `admin_or_creator`).
 */
export async function accessibleMetric(ctx: RouteContext, request: FastifyRequest): Promise<Metric> {
  const { id } = request.params as Static<typeof IdParams>;
  const metric = await ctx.deps.index.metrics.get(id);
  if (!metric || metric.status !== 'active') {
    const description = `Metric ${id} does not exist`;
    throw restError('REST_NOT_FOUND', description, { details: { description } });
  }
  if (!mayAccess(ctx.principal(request), { creator: metric.creator })) throw restError('REST_FORBIDDEN');
  return metric;
}

/**
 * Gnocchi's basic auth lists every metric; with identity headers (noauth) a non-admin caller sees
 * only what its project created.
 */
function scopeToCaller(filter: MetricListFilter, principal: Principal, ctx: RouteContext): MetricListFilter {
  if (ctx.config.auth === 'basic' || principal.isAdmin || principal.projectId === null) return filter;
  if (filter.createdByProjectId !== undefined && filter.createdByProjectId !== principal.projectId) {
    throw describedRestError('REST_FORBIDDEN', 'Insufficient privileges to filter by user/project');
  }
  return { ...filter, createdByProjectId: principal.projectId };
}

function mapResourceId(index: IndexPort, rawId: string, principal: Principal): string {
  const mapped = index.resourceId(rawId, principal.creator);
  if ('problem' in mapped) throw describedRestError('REST_INVALID_INPUT', mapped.problem);
  return mapped.id;
}

export function formatMetric(metric: Metric) {
  const [createdByUser, createdByProject] =
    metric.creator === null ? [null, null] : partition(metric.creator, ':');
  return {
    id: metric.id,
    archive_policy: formatPolicy(metric.archivePolicy),
    archive_policy_name: metric.archivePolicy.name,
    creator: metric.creator,
    created_by_user_id: createdByUser,
    created_by_project_id: createdByProject,
    name: metric.name,
    unit: metric.unit,
    resource_id: metric.resourceId,
  };
}

/** Python's `str.partition`: what is before and after the first separator ('' when absent). */
function partition(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, ''] : [text.slice(0, at), text.slice(at + separator.length)];
}
