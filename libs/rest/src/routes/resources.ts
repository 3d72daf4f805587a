import { createHash } from 'node:crypto';
import { parseTimestamp } from '@granary/carbonara';
import { PyFloat } from '@granary/python-format';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteContext } from '../app.ts';
import type { Principal } from '../auth.ts';
import { describedRestError, restError, undecodableBody } from '../errors.ts';
import { isoFromMicros } from '../format.ts';
import { pythonQuote } from '../http.ts';
import {
  DEFAULT_SORT,
  type Query,
  pageRequest,
  queryValue,
  queryValues,
  setNextLink,
} from '../pagination.ts';
import { type PolicyRule, authorize, resourcePolicyFilter, resourceTarget } from '../policy.ts';
import type { MetricSpec, Resource, ResourceType, ResourceUpdate } from '../ports.ts';
import { invalidInputError } from '../validation.ts';
import { authorizeMetric, formatMetric } from './metrics.ts';

const NullableString = Type.Unsafe<string | null>({ type: ['string', 'null'] });
const Timestamp = Type.Unsafe<string | number>({ type: ['string', 'number'] });
const NullableTimestamp = Type.Unsafe<string | number | null>({ type: ['string', 'number', 'null'] });
const MetricSpecBody = Type.Union([
  Type.String(),
  Type.Object(
    { archive_policy_name: Type.Optional(Type.String()), unit: Type.Optional(NullableString) },
    { additionalProperties: false },
  ),
]);
// Not Type.Record: its `^(.*)$` key pattern does not match a name with a line break, whose value
// would then go unchecked (schemathesis found `{"a\n": null}` crashing the handler).
const MetricsBody = Type.Unsafe<Record<string, Static<typeof MetricSpecBody>>>({
  type: 'object',
  additionalProperties: MetricSpecBody,
});

/** The generic fields; anything else in a body is a custom attribute, checked by the index. */
const GENERIC_FIELDS = {
  started_at: Type.Optional(Timestamp),
  ended_at: Type.Optional(NullableTimestamp),
  user_id: Type.Optional(NullableString),
  project_id: Type.Optional(NullableString),
  metrics: Type.Optional(MetricsBody),
};
const ResourceCreateBody = Type.Object({ id: Type.String({ minLength: 1 }), ...GENERIC_FIELDS });
const ResourceUpdateBody = Type.Object(GENERIC_FIELDS);
/** Read-only fields a PATCH may not carry (voluptuous calls them extra keys). */
const IMMUTABLE_FIELDS = [
  'id',
  'type',
  'creator',
  'created_by_user_id',
  'created_by_project_id',
  'original_resource_id',
  'revision_start',
  'revision_end',
];
const TypeParams = Type.Object({ type: Type.String() });
const ResourceParams = Type.Object({ type: Type.String(), id: Type.String() });
const NamedMetricParams = Type.Object({ type: Type.String(), id: Type.String(), name: Type.String() });

type CreateBody = Static<typeof ResourceCreateBody> & Record<string, unknown>;
type UpdateBody = Static<typeof ResourceUpdateBody> & Record<string, unknown>;

/** `/v1/resource` (gnocchi.md §4): CRUD, history, named metrics, batch delete. */
export function registerResourceRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { index } = ctx.deps;
  const schema = (params: TSchema, body?: TSchema) => ({ schema: { params, ...(body ? { body } : {}) } });

  app.get('/v1/resource', async (request) => {
    const base = `${ctx.baseUrl(request)}/v1/resource`;
    const types = await index.resourceTypes.list();
    return Object.fromEntries(types.map((type) => [type.name, `${base}/${pythonQuote(type.name)}`]));
  });

  app.get('/v1/resource/:type', schema(TypeParams), async (request, reply) => {
    const { type } = request.params as Static<typeof TypeParams>;
    const query = request.query as Query;
    return listResources(ctx, request, reply, 'list resource', type, query, queryValue(query, 'filter'));
  });

  app.post(
    '/v1/resource/:type',
    {
      ...schema(TypeParams, ResourceCreateBody),
      preValidation: async (request) => checkMetricNames(request.body),
    },
    async (request, reply) => {
      const { type } = request.params as Static<typeof TypeParams>;
      const principal = ctx.principal(request);
      const { id, started_at, ended_at, user_id, project_id, metrics, ...attributes } =
        request.body as CreateBody;
      const resource = await index.resources.create({
        type,
        id,
        creator: principal.creator,
        ...timesOf({ started_at, ended_at }),
        ...(user_id !== undefined ? { userId: user_id } : {}),
        ...(project_id !== undefined ? { projectId: project_id } : {}),
        ...(metrics !== undefined ? { metrics: metricSpecs(metrics) } : {}),
        attributes,
      });
      reply
        .code(201)
        .header('location', `${ctx.baseUrl(request)}/v1/resource/${pythonQuote(type)}/${resource.id}`);
      setEtag(reply, resource);
      return formatResource(resource, await typeOf(ctx, type), { numbersAsSent: true });
    },
  );

  app.delete('/v1/resource/:type', schema(TypeParams), async (request) => {
    const { type } = request.params as Static<typeof TypeParams>;
    const principal = ctx.principal(request);
    const filter = request.body ?? queryValue(request.query as Query, 'filter');
    if (filter === undefined || filter === '') {
      throw describedRestError('REST_INVALID_INPUT', 'Invalid filter: a non-empty filter is required');
    }
    const deleted = await index.resources.deleteMatching(type, filter, {
      creator: principal.creator,
      ...policyScope(principal, 'delete resources'),
    });
    return { deleted };
  });

  app.get('/v1/resource/:type/:id', schema(ResourceParams), async (request, reply) => {
    const { type } = request.params as Static<typeof ResourceParams>;
    const resource = await accessibleResource(ctx, request, 'get resource');
    if (preconditionFails(request, reply, resource)) return reply.code(304).send();
    setEtag(reply, resource);
    return formatResource(resource, await typeOf(ctx, type));
  });

  // Gnocchi finds the resource (404) before it reads the body (400): both ahead of the schema.
  const patchTargets = new WeakMap<FastifyRequest, Resource>();
  const patchOptions = {
    ...schema(ResourceParams, ResourceUpdateBody),
    config: { bodyOptional: true },
    preValidation: async (request: FastifyRequest) => {
      patchTargets.set(request, await accessibleResource(ctx, request, 'update resource'));
      if (request.body === undefined) throw undecodableBody('Expected object or value');
      checkMetricNames(request.body);
    },
  };
  app.patch('/v1/resource/:type/:id', patchOptions, async (request, reply) => {
    const { type } = request.params as Static<typeof ResourceParams>;
    const current = patchTargets.get(request)!;
    const body = request.body as UpdateBody;
    const immutable = IMMUTABLE_FIELDS.find((field) => Object.hasOwn(body, field));
    if (immutable) throw invalidInputError('extra keys not allowed', [immutable], false);
    if (preconditionFails(request, reply, current)) throw restError('REST_PRECONDITION_FAILED');
    const { started_at, ended_at, user_id, project_id, metrics, ...attributes } = body;
    const change: ResourceUpdate = {
      ...timesOf({ started_at, ended_at }),
      ...(user_id !== undefined ? { userId: user_id } : {}),
      ...(project_id !== undefined ? { projectId: project_id } : {}),
      ...(metrics !== undefined ? { metrics: metricSpecs(metrics) } : {}),
      ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
    };
    // Metrics are the resource's creator's: new ones get it, attached ones must have it (Gnocchi).
    const resource = await index.resources.update(type, current.id, change, { creator: current.creator });
    setEtag(reply, resource);
    return formatResource(resource, await typeOf(ctx, type));
  });

  app.delete('/v1/resource/:type/:id', schema(ResourceParams), async (request, reply) => {
    const { type } = request.params as Static<typeof ResourceParams>;
    const resource = await accessibleResource(ctx, request, 'delete resource');
    if (preconditionFails(request, reply, resource)) throw restError('REST_PRECONDITION_FAILED');
    await index.resources.delete(type, resource.id);
    return reply.code(204).send();
  });

  app.get('/v1/resource/:type/:id/history', schema(ResourceParams), async (request, reply) => {
    const { type } = request.params as Static<typeof ResourceParams>;
    const resource = await accessibleResource(ctx, request, 'get resource');
    const query = request.query as Query;
    const page = pageRequest(query, ctx.config.maxLimit);
    const revisions = await index.resources.history(type, resource.id, page);
    setNextLink(
      request,
      reply,
      ctx.baseUrl(request),
      page,
      ['revision_start:asc'],
      revisions,
      revisionMarker,
    );
    const definition = await typeOf(ctx, type);
    return revisions.map((revision) =>
      selectAttributes(formatResource(revision, definition, { revision: true }), query),
    );
  });

  app.get('/v1/resource/:type/:id/metric', schema(ResourceParams), async (request) => {
    const resource = await accessibleResource(ctx, request, 'get resource');
    return (await resourceMetrics(ctx, resource.id)).map(formatMetric);
  });

  app.post('/v1/resource/:type/:id/metric', schema(ResourceParams, MetricsBody), async (request) => {
    const { type } = request.params as Static<typeof ResourceParams>;
    const resource = await accessibleResource(ctx, request, 'update resource');
    await index.resources.addMetrics(
      type,
      resource.id,
      metricSpecs(request.body as Static<typeof MetricsBody>),
      {
        creator: resource.creator,
      },
    );
    return (await resourceMetrics(ctx, resource.id)).map(formatMetric);
  });

  app.get('/v1/resource/:type/:id/metric/:name', schema(NamedMetricParams), async (request) =>
    formatMetric(await namedMetric(ctx, request, 'get metric')),
  );

  app.delete('/v1/resource/:type/:id/metric/:name', schema(NamedMetricParams), async (request, reply) => {
    await index.metrics.delete((await namedMetric(ctx, request, 'delete metric')).id);
    return reply.code(204).send();
  });
}

/**
 * Gnocchi rejects a metric name with `/` before it looks at the rest of the body (even a missing
 * id), so this check runs ahead of the schema.
 */
function checkMetricNames(body: unknown): void {
  const metrics = (body as { metrics?: unknown } | undefined)?.metrics;
  if (typeof metrics !== 'object' || metrics === null) return;
  if (Object.keys(metrics).some((name) => name.includes('/'))) {
    throw describedRestError('REST_INVALID_INPUT', "'/' is not supported in metric name");
  }
}

/** One page of resources of a type, for `GET /v1/resource/<type>` and the search endpoint. */
export async function listResources(
  ctx: RouteContext,
  request: FastifyRequest,
  reply: FastifyReply,
  rule: PolicyRule,
  type: string,
  query: Query,
  filter: unknown,
) {
  const principal = ctx.principal(request);
  const page = pageRequest(query, ctx.config.maxLimit);
  const history = isTrue(queryValue(query, 'history'));
  const resources = await ctx.deps.index.resources.search({
    ...page,
    type,
    history,
    creator: principal.creator,
    ...(filter !== undefined && filter !== '' ? { filter } : {}),
    ...policyScope(principal, rule),
  });
  setNextLink(request, reply, ctx.baseUrl(request), page, DEFAULT_SORT.resources, resources, (last) =>
    history ? revisionMarker(last) : last.id,
  );
  const definition = await typeOf(ctx, type);
  return resources.map((resource) =>
    selectAttributes(formatResource(resource, definition, { revision: history }), query),
  );
}

/** The resource of the `:type/:id` parameters if `rule` grants it to the caller (404 / 403 otherwise). */
async function accessibleResource(
  ctx: RouteContext,
  request: FastifyRequest,
  rule: PolicyRule,
): Promise<Resource> {
  const { type, id } = request.params as Static<typeof ResourceParams>;
  const principal = ctx.principal(request);
  const mapped = ctx.deps.index.resourceId(id, principal.creator);
  const resource = 'id' in mapped ? await ctx.deps.index.resources.get(type, mapped.id) : undefined;
  if (!resource) throw restError('REST_NOT_FOUND');
  authorize(principal, rule, resourceTarget(resource));
  return resource;
}

/**
 * The active metric `:name` of the `:type/:id` resource if `rule` grants the metric to the caller:
 * Gnocchi checks the metric only (its creator, its resource's project), not the resource.
 */
export async function namedMetric(ctx: RouteContext, request: FastifyRequest, rule: PolicyRule) {
  const { type, id, name } = request.params as Static<typeof NamedMetricParams>;
  const principal = ctx.principal(request);
  const mapped = ctx.deps.index.resourceId(id, principal.creator);
  const resource = 'id' in mapped ? await ctx.deps.index.resources.get(type, mapped.id) : undefined;
  if (!resource) throw restError('REST_NOT_FOUND');
  const metric = (await resourceMetrics(ctx, resource.id)).find((m) => m.name === name);
  if (!metric) {
    const description = `Metric ${name} does not exist`;
    throw restError('REST_NOT_FOUND', description, { details: { description } });
  }
  await authorizeMetric(ctx, principal, rule, metric);
  return metric;
}

/** A resource's active metrics by name (a resource holds few; the max limit does not apply). */
const resourceMetrics = (ctx: RouteContext, resourceId: string) =>
  ctx.deps.index.metrics.list({ resourceId }, { sort: ['name:asc'] });

/** The search restriction `rule` puts on the caller (none for admins and basic auth, as Gnocchi). */
export function policyScope(
  principal: Principal,
  rule: PolicyRule,
): { policyFilter?: Record<string, unknown> } {
  const policyFilter = resourcePolicyFilter(principal, rule);
  return policyFilter ? { policyFilter } : {};
}

/** The custom attributes to show: those of the type asked for (none for `generic`). */
export async function typeOf(ctx: RouteContext, type: string): Promise<ResourceType | undefined> {
  return type === 'generic' ? undefined : ctx.deps.index.resourceTypes.get(type);
}

function timesOf(body: { started_at?: string | number; ended_at?: string | number | null }) {
  const now = Date.now() * 1000;
  const parse = (value: string | number, field: string): number => {
    const parsed = parseTimestamp(value, now);
    if ('error' in parsed) throw invalidInputError(parsed.error, [field]);
    return parsed.micros;
  };
  return {
    ...(body.started_at !== undefined ? { startedAt: parse(body.started_at, 'started_at') } : {}),
    ...(body.ended_at !== undefined
      ? { endedAt: body.ended_at === null ? null : parse(body.ended_at, 'ended_at') }
      : {}),
  };
}

function metricSpecs(metrics: Static<typeof MetricsBody>): Record<string, MetricSpec> {
  return Object.fromEntries(
    Object.entries(metrics).map(([name, spec]) => [
      name,
      typeof spec === 'string'
        ? spec
        : {
            ...(spec.archive_policy_name !== undefined
              ? { archivePolicyName: spec.archive_policy_name }
              : {}),
            ...(spec.unit !== undefined ? { unit: spec.unit } : {}),
          },
    ]),
  );
}

const revisionMarker = (resource: Resource) => `${resource.id}@${resource.revision}`;
const isTrue = (value: string | undefined) =>
  value !== undefined && ['true', '1', 'yes', 'on'].includes(value.toLowerCase());

/** Gnocchi's resource ETag: SHA-1 of the id and the revision start. */
function etagOf(resource: Resource): string {
  return `"${createHash('sha1')
    .update(`${resource.id}${isoFromMicros(resource.revisionStart)}`)
    .digest('hex')}"`;
}

function setEtag(reply: FastifyReply, resource: Resource): void {
  reply.header('etag', etagOf(resource));
  reply.header('last-modified', new Date(resource.revisionStart / 1000).toUTCString());
}

/** If-Match / If-None-Match against the resource's ETag: true when the request must not proceed. */
function preconditionFails(request: FastifyRequest, reply: FastifyReply, resource: Resource): boolean {
  const etag = etagOf(resource);
  const matches = (header: string | undefined) =>
    header?.split(',').some((tag) => ['*', etag].includes(tag.trim().replace(/^W\//, ''))) === true;
  const ifMatch = request.headers['if-match'];
  if (ifMatch !== undefined && !matches(ifMatch)) throw restError('REST_PRECONDITION_FAILED');
  if (matches(request.headers['if-none-match'])) {
    reply.header('etag', etag);
    return true;
  }
  return false;
}

/**
 * A resource in the key order of Gnocchi's `ResourceJsonifier.jsonify`: the columns as its model
 * lists them, the type's attributes after `type`, then `revision_end` (a revision of the history
 * table has it second), `metrics` and the creator's parts. `revision` is for history bodies.
 */
export function formatResource(
  resource: Resource,
  type: ResourceType | undefined,
  { numbersAsSent = false, revision = false } = {},
): Record<string, unknown> {
  const creator = resource.creator;
  const at = creator?.indexOf(':') ?? -1;
  const revisionEnd = resource.revisionEnd === null ? null : isoFromMicros(resource.revisionEnd);
  const out: Record<string, unknown> = {
    id: resource.id,
    ...(revision ? { revision_end: revisionEnd } : {}),
    creator,
    started_at: isoFromMicros(resource.startedAt),
    revision_start: isoFromMicros(resource.revisionStart),
    ended_at: resource.endedAt === null ? null : isoFromMicros(resource.endedAt),
    user_id: resource.userId,
    project_id: resource.projectId,
    original_resource_id: resource.originalResourceId,
    type: resource.type,
  };
  if (type && resource.type === type.name) {
    for (const [name, definition] of Object.entries(type.attributes)) {
      const value = resource.attributes[name] ?? null;
      if (typeof value !== 'number') out[name] = value;
      else if (definition.type === 'datetime') out[name] = isoFromMicros(value);
      // Gnocchi reads a number attribute back from a float column (`5.0`); only its create reply
      // echoes the body's number as sent.
      else out[name] = definition.type === 'number' && !numbersAsSent ? new PyFloat(value) : value;
    }
  }
  if (!revision) out.revision_end = revisionEnd;
  out.metrics = resource.metrics;
  out.created_by_user_id = creator === null ? null : at === -1 ? creator : creator.slice(0, at);
  out.created_by_project_id = creator === null ? null : at === -1 ? '' : creator.slice(at + 1);
  return out;
}

/** `attrs=a&attrs=b` keeps only those fields (unknown names are ignored, as Gnocchi). */
function selectAttributes(resource: Record<string, unknown>, query: Query): Record<string, unknown> {
  const wanted = queryValues(query, 'attrs');
  if (wanted.length === 0) return resource;
  return Object.fromEntries(Object.entries(resource).filter(([key]) => wanted.includes(key)));
}
