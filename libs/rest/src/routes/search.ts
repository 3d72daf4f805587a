import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../app.ts';
import { restError } from '../errors.ts';
import { type Query, queryValue } from '../pagination.ts';
import { listResources } from './resources.ts';

const TypeParams = Type.Object({ type: Type.String() });

/** `POST /v1/search/resource/<type>`: the filter in the body (JSON form) or `?filter=` (string form). */
export function registerSearchRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post(
    '/v1/search/resource/:type',
    // The filter language is validated by the index, which owns its grammar and Gnocchi's messages.
    { schema: { params: TypeParams }, config: { bodyOptional: true } },
    async (request, reply) => {
      const { type } = request.params as Static<typeof TypeParams>;
      const query = request.query as Query;
      const filter = queryValue(query, 'filter') ?? request.body;
      return listResources(ctx, request, reply, 'search resource', type, query, filter);
    },
  );

  // Gnocchi resolves the type before the method: an unknown type is a 404 whatever the method.
  app.get('/v1/search/resource/:type', { schema: { params: TypeParams } }, async (request) => {
    const { type } = request.params as Static<typeof TypeParams>;
    if (!(await ctx.deps.index.resourceTypes.get(type))) {
      const description = `Resource type ${type} does not exist`;
      throw restError('REST_NOT_FOUND', description, { details: { description } });
    }
    throw restError('REST_METHOD_NOT_ALLOWED');
  });
}
