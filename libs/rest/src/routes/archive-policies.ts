import { parseTimespan } from '@granary/carbonara';
import { GranaryError } from '@granary/errors';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../app.ts';
import { restError } from '../errors.ts';
import { pythonTimedelta } from '../format.ts';
import { pythonQuote } from '../http.ts';
import type { PolicyRule } from '../policy.ts';
import type { ArchivePolicy, ArchivePolicyItemInput, ArchivePolicyRule } from '../ports.ts';
import { invalidInputError } from '../validation.ts';

/** A duration as Gnocchi accepts it: seconds, or text such as `"1 hour"` (parsed by the handler). */
const Timespan = Type.Unsafe<number | string>({ type: ['number', 'string'] });
const NullableTimespan = Type.Unsafe<number | string | null>({ type: ['number', 'string', 'null'] });

const DefinitionItem = Type.Object(
  {
    granularity: Type.Optional(Timespan),
    points: Type.Optional(Type.Unsafe<number | null>({ type: ['integer', 'null'], minimum: 1 })),
    timespan: Type.Optional(NullableTimespan),
  },
  { additionalProperties: false },
);
const Definition = Type.Array(DefinitionItem, { minItems: 1 });

const PolicyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    back_window: Type.Optional(Type.Integer({ minimum: 0 })),
    aggregation_methods: Type.Optional(Type.Array(Type.String())),
    definition: Definition,
  },
  { additionalProperties: false },
);
const PolicyPatchBody = Type.Object(
  { definition: Definition, back_window: Type.Optional(Type.Integer({ minimum: 0 })) },
  { additionalProperties: false },
);
const RuleBody = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    metric_pattern: Type.String({ minLength: 1 }),
    archive_policy_name: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);
const RuleRenameBody = Type.Object({ name: Type.String({ minLength: 1 }) }, { additionalProperties: false });
const NameParams = Type.Object({ name: Type.String() });

/** Route options: a body schema for writes, the `:name` parameter for single objects. */
const route = (options: { body?: TSchema; named?: boolean; policy?: PolicyRule }) => ({
  schema: {
    ...(options.named ? { params: NameParams } : {}),
    ...(options.body ? { body: options.body } : {}),
  },
  config: options.policy ? { policy: options.policy } : ({} as { policy?: PolicyRule }),
});

/** `/v1/archive_policy` and `/v1/archive_policy_rule` (gnocchi.md §4). */
export function registerArchivePolicyRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const policies = ctx.deps.index.archivePolicies;
  const rules = ctx.deps.index.archivePolicyRules;
  const location = (request: Parameters<RouteContext['baseUrl']>[0], collection: string, name: string) =>
    `${ctx.baseUrl(request)}/v1/${collection}/${pythonQuote(name)}`;

  app.get('/v1/archive_policy', async () => (await policies.list()).map(formatPolicy));

  app.post(
    '/v1/archive_policy',
    route({ body: PolicyBody, policy: 'create archive policy' }),
    async (request, reply) => {
      const body = request.body as Static<typeof PolicyBody>;
      const policy = await policies.create({
        name: body.name,
        definition: definitionInput(body.definition),
        ...(body.back_window !== undefined ? { backWindow: body.back_window } : {}),
        ...(body.aggregation_methods ? { aggregationMethods: body.aggregation_methods } : {}),
      });
      reply.code(201).header('location', location(request, 'archive_policy', policy.name));
      return formatPolicy(policy);
    },
  );

  app.get('/v1/archive_policy/:name', route({ named: true }), async (request) => {
    const { name } = request.params as Static<typeof NameParams>;
    const policy = await policies.get(name);
    if (!policy) throw notFound(`Archive policy ${name} does not exist`);
    return formatPolicy(policy);
  });

  app.patch(
    '/v1/archive_policy/:name',
    route({ body: PolicyPatchBody, named: true, policy: 'update archive policy' }),
    async (request) => {
      const { name } = request.params as Static<typeof NameParams>;
      const body = request.body as Static<typeof PolicyPatchBody>;
      const policy = await policies.update(name, {
        definition: definitionInput(body.definition),
        ...(body.back_window !== undefined ? { backWindow: body.back_window } : {}),
      });
      return formatPolicy(policy);
    },
  );

  app.delete(
    '/v1/archive_policy/:name',
    route({ named: true, policy: 'delete archive policy' }),
    async (request, reply) => {
      await policies.delete((request.params as Static<typeof NameParams>).name);
      return reply.code(204).send();
    },
  );

  app.get('/v1/archive_policy_rule', async () => (await rules.list()).map(formatRule));

  app.post(
    '/v1/archive_policy_rule',
    route({ body: RuleBody, policy: 'create archive policy rule' }),
    async (request, reply) => {
      const body = request.body as Static<typeof RuleBody>;
      const rule = await rules.create({
        name: body.name,
        metricPattern: body.metric_pattern,
        archivePolicyName: body.archive_policy_name,
      });
      reply.code(201).header('location', location(request, 'archive_policy_rule', rule.name));
      return formatRule(rule);
    },
  );

  app.get('/v1/archive_policy_rule/:name', route({ named: true }), async (request) => {
    const { name } = request.params as Static<typeof NameParams>;
    const rule = await rules.get(name);
    if (!rule) throw notFound(`Archive policy rule ${name} does not exist`);
    return formatRule(rule);
  });

  app.patch(
    '/v1/archive_policy_rule/:name',
    route({ body: RuleRenameBody, named: true, policy: 'update archive policy rule' }),
    async (request) => {
      const { name } = request.params as Static<typeof NameParams>;
      const { name: newName } = request.body as Static<typeof RuleRenameBody>;
      try {
        return formatRule(await rules.rename(name, newName));
      } catch (err) {
        // Gnocchi answers a rename onto an existing rule with 400, not the 409 of a create.
        if (err instanceof GranaryError && err.status === 409) {
          throw restError('REST_INVALID_INPUT', err.message, {
            cause: err,
            details: { description: err.details?.description ?? err.message },
          });
        }
        throw err;
      }
    },
  );

  app.delete(
    '/v1/archive_policy_rule/:name',
    route({ named: true, policy: 'delete archive policy rule' }),
    async (request, reply) => {
      await rules.delete((request.params as Static<typeof NameParams>).name);
      return reply.code(204).send();
    },
  );
}

const notFound = (description: string) =>
  restError('REST_NOT_FOUND', description, { details: { description } });

/** Durations in a definition may be text; the index takes seconds. */
function definitionInput(items: Static<typeof Definition>): ArchivePolicyItemInput[] {
  return items.map((item, index) => {
    // null means "not given", as Gnocchi's schema treats it.
    const seconds = (key: 'granularity' | 'timespan'): number | undefined => {
      const raw = item[key];
      if (raw === undefined || raw === null) return undefined;
      const parsed = parseTimespan(raw);
      if ('error' in parsed) throw invalidInputError(parsed.error, ['definition', index, key]);
      return parsed.seconds;
    };
    const input: ArchivePolicyItemInput = {};
    const granularity = seconds('granularity');
    const timespan = seconds('timespan');
    if (granularity !== undefined) input.granularity = granularity;
    if (timespan !== undefined) input.timespan = timespan;
    if (item.points !== undefined && item.points !== null) input.points = item.points;
    return input;
  });
}

export function formatPolicy(policy: ArchivePolicy) {
  return {
    name: policy.name,
    back_window: policy.backWindow,
    // Gnocchi's key order (ArchivePolicyItem.jsonify): timespan, granularity, points.
    definition: policy.definition.map((item) => ({
      timespan: item.timespan === null ? null : pythonTimedelta(item.timespan),
      granularity: pythonTimedelta(item.granularity),
      points: item.points,
    })),
    aggregation_methods: policy.aggregationMethods,
  };
}

/** Gnocchi's key order (ArchivePolicyRule's columns, jsonified by dict(self)). */
const formatRule = (rule: ArchivePolicyRule) => ({
  name: rule.name,
  archive_policy_name: rule.archivePolicyName,
  metric_pattern: rule.metricPattern,
});
