import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { OPERATIONS } from '../src/schemas/operations.ts';
import { ADMIN, testApi } from './helpers.ts';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

interface Operation {
  parameters: { name: string; in: string }[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
  security?: unknown[];
}

async function openApi(): Promise<Record<string, Record<string, Operation>>> {
  app = await testApi();
  const response = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(response.statusCode).toBe(200);
  return response.json().paths;
}

describe('/openapi.json', () => {
  it('documents a response besides the error body for every operation of every route', async () => {
    const paths = await openApi();
    const operations = Object.entries(paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ name: `${method} ${path}`, operation })),
    );
    // No entry of the table describes a route that no longer exists.
    const routes = new Set(operations.map(({ name }) => name));
    const stale = [...OPERATIONS.keys()]
      .map((key) => key.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/^[A-Z]+/, (m) => m.toLowerCase()))
      .filter((name) => !routes.has(name));
    expect(stale).toEqual([]);
    const undocumented = operations
      .filter(
        ({ operation }) =>
          Object.keys(operation.responses).filter((s) => s !== '4XX' && s !== '503').length === 0,
      )
      .map(({ name }) => name);
    expect(undocumented).toEqual([]);
    for (const { operation } of operations) {
      expect(operation.responses['4XX']?.content?.['application/json']?.schema).toEqual({
        $ref: '#/components/schemas/GnocchiError',
      });
    }
  });

  it('gives bodies their media types, the query parameters handlers read and public routes no security', async () => {
    const paths = await openApi();
    expect(Object.keys(paths['/v1/resource_type/{name}']!.patch!.requestBody!.content)).toEqual([
      'application/json-patch+json',
    ]);
    // Parsed by the handler, not by fastify: documented all the same.
    expect(paths['/v1/metric/{id}/measures']!.post!.requestBody!.content['application/json']).toBeDefined();
    expect(paths['/v1/aggregates']!.post!.parameters.map((p) => p.name)).toContain('granularity');
    expect(
      paths['/v1/metric/{id}/measures']!.get!.responses['200']!.content!['application/json'],
    ).toBeDefined();
    expect(paths['/healthcheck']!.get!.security).toEqual([]);
    expect(paths['/v1/metric']!.get!.security).toBeUndefined();
  });

  it('describes the error bodies the API actually sends', async () => {
    app = await testApi();
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const errorSchema = doc.components.schemas.GnocchiError;
    const notFound = (
      await app.inject({ method: 'GET', url: '/v1/metric/nope', headers: { authorization: ADMIN } })
    ).json();
    expect(Object.keys(notFound).sort()).toEqual(Object.keys(errorSchema.properties).sort());
    expect(doc.components.securitySchemes.keystone).toMatchObject({ in: 'header', name: 'X-Auth-Token' });
  });
});
