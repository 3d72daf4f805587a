import type { FastifyInstance } from 'fastify';
import { GnocchiError, OPERATIONS, type OperationDoc } from './schemas/operations.ts';

export interface OpenApiCollector {
  /** The OpenAPI 3.1 document of every route registered so far. */
  document(): Record<string, unknown>;
}

type JsonSchema = Record<string, unknown>;

/**
 * Builds `/openapi.json` from the routes' own JSON schemas (params, bodies, media types, access)
 * plus `OPERATIONS` (responses, query parameters, bodies the handlers parse), so the document
 * cannot drift from what the validators enforce. Hidden routes (405 fillers) and wildcards (CORS)
 * are left out.
 */
export function collectOpenApi(app: FastifyInstance): OpenApiCollector {
  const paths: Record<string, Record<string, unknown>> = {};
  app.addHook('onRoute', (route) => {
    if (route.config?.hidden || route.url.includes('*')) return;
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD');
    const schema = (route.schema ?? {}) as JsonSchema;
    for (const method of methods) {
      const doc = OPERATIONS.get(`${method} ${route.url}`);
      const body = schema.body ?? doc?.body;
      const access = route.config?.access ?? 'user';
      paths[path] = {
        ...paths[path],
        [method.toLowerCase()]: {
          ...(schema.summary ? { summary: schema.summary } : {}),
          ...(access === 'public' ? { security: [] } : {}),
          ...(route.config?.policy ? { description: `Gnocchi policy rule "${route.config.policy}".` } : {}),
          parameters: [
            ...pathParameters(path, schema.params as JsonSchema | undefined),
            ...Object.entries(doc?.query ?? {}).map(([name, s]) => ({ name, in: 'query', schema: s })),
          ],
          ...(body
            ? {
                requestBody: {
                  required: !route.config?.bodyOptional,
                  content: Object.fromEntries(
                    (route.config?.bodyTypes ?? ['application/json']).map((type) => [type, { schema: body }]),
                  ),
                },
              }
            : {}),
          responses: responses(doc),
        },
      };
    }
  });
  return {
    document: () => ({
      openapi: '3.1.0',
      info: { title: 'Granary (Gnocchi REST API v1)', version: '1.0' },
      components: {
        securitySchemes: {
          basic: {
            type: 'http',
            scheme: 'basic',
            description: 'Gnocchi basic auth (user name; admin is admin)',
          },
          keystone: { type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: 'Keystone token' },
        },
        schemas: { GnocchiError },
      },
      security: [{ basic: [] }, { keystone: [] }],
      paths,
    }),
  };
}

function pathParameters(path: string, params: JsonSchema | undefined) {
  const properties = (params?.properties ?? {}) as Record<string, JsonSchema>;
  return [...path.matchAll(/\{([A-Za-z_]+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: properties[m[1] as string] ?? { type: 'string' },
  }));
}

/**
 * The documented statuses, plus Gnocchi's error body for any 4xx and for 503 (a dependency is
 * down or not configured). Nothing else: a 500 or an unlisted 2xx/3xx is a defect the fuzzer reports.
 */
function responses(doc: OperationDoc | undefined) {
  const error = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/GnocchiError' } } },
  });
  return {
    ...Object.fromEntries(
      Object.entries(doc?.responses ?? {}).map(([status, response]) => [
        status,
        {
          description: response.description,
          ...(response.schema
            ? { content: { [response.mediaType ?? 'application/json']: { schema: response.schema } } }
            : {}),
        },
      ]),
    ),
    '4XX': error('Refused (Gnocchi error body)'),
    '503': error('A dependency is unavailable or not configured'),
  };
}
