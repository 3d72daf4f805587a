import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../app.ts';
import { restError } from '../errors.ts';
import { pythonQuote } from '../http.ts';
import type { AttributeDefinition, ResourceType } from '../ports.ts';

const NameParams = Type.Object({ name: Type.String() });
/** Attribute schemas are validated by the index, which owns their rules and Gnocchi's wording. */
const ResourceTypeBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    attributes: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
const JsonPatch = Type.Array(
  Type.Object({ op: Type.String(), path: Type.String(), value: Type.Optional(Type.Unknown()) }),
);

/** `/v1/resource_type` (gnocchi.md §4): CRUD plus JSON-patch of the attributes. */
export function registerResourceTypeRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const types = ctx.deps.index.resourceTypes;

  app.get('/v1/resource_type', async () => (await types.list()).map(formatResourceType));

  app.post(
    '/v1/resource_type',
    { schema: { body: ResourceTypeBody }, config: { policy: 'create resource type' } },
    async (request, reply) => {
      const body = request.body as Static<typeof ResourceTypeBody>;
      const type = await types.create(body);
      reply
        .code(201)
        .header('location', `${ctx.baseUrl(request)}/v1/resource_type/${pythonQuote(type.name)}`);
      return formatResourceType(type);
    },
  );

  app.get('/v1/resource_type/:name', { schema: { params: NameParams } }, async (request) => {
    const { name } = request.params as Static<typeof NameParams>;
    const type = await types.get(name);
    if (!type) {
      const description = `Resource type ${name} does not exist`;
      throw restError('REST_NOT_FOUND', description, { details: { description } });
    }
    return formatResourceType(type);
  });

  app.patch(
    '/v1/resource_type/:name',
    {
      schema: { params: NameParams, body: JsonPatch },
      config: { policy: 'update resource type', bodyTypes: ['application/json-patch+json'] },
    },
    async (request) => {
      const { name } = request.params as Static<typeof NameParams>;
      return formatResourceType(await types.patch(name, request.body));
    },
  );

  app.delete(
    '/v1/resource_type/:name',
    { schema: { params: NameParams }, config: { policy: 'delete resource type' } },
    async (request, reply) => {
      await types.delete((request.params as Static<typeof NameParams>).name);
      return reply.code(204).send();
    },
  );
}

/**
 * Gnocchi's key order: `name, attributes, state` (ResourceType.jsonify), each attribute `type,
 * required` then its options as its schema class lists them (gnocchi/resource_type.py).
 */
const formatResourceType = (type: ResourceType) => ({
  name: type.name,
  attributes: Object.fromEntries(
    Object.entries(type.attributes).map(([name, definition]) => [name, formatAttribute(definition)]),
  ),
  state: type.state,
});

function formatAttribute(definition: AttributeDefinition) {
  const { type, required } = definition;
  switch (definition.type) {
    case 'string':
      return { type, required, max_length: definition.max_length, min_length: definition.min_length };
    case 'number':
      return { type, required, min: definition.min, max: definition.max };
    default:
      return { type, required };
  }
}
