import type { FastifyInstance } from 'fastify';

export interface OpenApiCollector {
  /** The OpenAPI 3.0 document of every route registered so far. */
  document(): Record<string, unknown>;
}

/**
 * Builds `/openapi.json` from the routes' own JSON schemas, so the document cannot drift from what
 * the validators enforce. Hidden routes (405 fillers) and wildcards (CORS) are left out.
 */
export function collectOpenApi(app: FastifyInstance): OpenApiCollector {
  const paths: Record<string, Record<string, unknown>> = {};
  app.addHook('onRoute', (route) => {
    if (route.config?.hidden || route.url.includes('*')) return;
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD');
    for (const method of methods) {
      const schema = (route.schema ?? {}) as Record<string, unknown>;
      const parameters = [
        ...[...path.matchAll(/\{([A-Za-z_]+)\}/g)].map((m) => ({
          name: m[1],
          in: 'path',
          required: true,
          schema: { type: 'string' },
        })),
        ...Object.entries(
          ((schema.querystring as { properties?: Record<string, unknown> } | undefined)?.properties ??
            {}) as Record<string, unknown>,
        ).map(([name, s]) => ({ name, in: 'query', schema: s })),
      ];
      paths[path] = {
        ...paths[path],
        [method.toLowerCase()]: {
          summary: schema.summary,
          parameters,
          ...(schema.body
            ? { requestBody: { content: { 'application/json': { schema: schema.body } } } }
            : {}),
          responses: { default: { description: 'Gnocchi-compatible response or error body' } },
        },
      };
    }
  });
  return {
    document: () => ({
      openapi: '3.0.3',
      info: { title: 'Granary (Gnocchi REST API v1)', version: '1.0' },
      paths,
    }),
  };
}
