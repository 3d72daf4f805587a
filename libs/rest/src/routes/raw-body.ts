import type { FastifyInstance } from 'fastify';

/**
 * Registers routes that read their body as bytes whatever its media type (InfluxDB clients send
 * line protocol as text/plain, form-encoded or with no type; Prometheus sends snappy protobuf),
 * inside their own fastify context so the JSON-only parsing of every other route is unchanged.
 * The size limit is the API's `bodyLimitBytes` (413 past it). Awaited, so the routes exist when
 * `buildApi` adds its 405 answers.
 */
export async function registerRawBodyRoutes(
  app: FastifyInstance,
  register: (scope: FastifyInstance) => void,
): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    register(scope);
  });
}

/** The body a raw-body route received (empty when there was none). */
export function rawBody(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}
