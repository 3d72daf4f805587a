import { type Static, Type } from '@sinclair/typebox';

/** The query service's own configuration section (`api:` in the app's config). */
export const RestSection = Type.Object(
  {
    host: Type.String({ default: '0.0.0.0' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8041 }),
    auth: Type.Union([Type.Literal('basic'), Type.Literal('noauth')], { default: 'basic' }),
    /** Gnocchi's `[api] max_limit`: the default and the largest page size. */
    maxLimit: Type.Integer({ minimum: 1, default: 1000 }),
    /** Larger request bodies are refused with 413 before they are parsed. */
    bodyLimitBytes: Type.Integer({ minimum: 1024, default: 16 * 1024 * 1024 }),
    /** Honour `X-Forwarded-Proto/Host/Prefix`; only safe behind a proxy that sets them. */
    trustForwardedHeaders: Type.Boolean({ default: false }),
    cors: Type.Object(
      {
        allowedOrigins: Type.Array(Type.String(), { default: [] }),
        allowMethods: Type.Array(Type.String(), { default: ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'] }),
        allowHeaders: Type.Array(Type.String(), {
          default: [
            'X-Auth-Token',
            'X-Openstack-Request-Id',
            'X-Subject-Token',
            'X-Roles',
            'X-User-Id',
            'X-Project-Id',
          ],
        }),
        exposeHeaders: Type.Array(Type.String(), {
          default: ['X-Auth-Token', 'X-Openstack-Request-Id', 'X-Subject-Token'],
        }),
        maxAgeSeconds: Type.Integer({ minimum: 0, default: 3600 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

export type RestConfig = Static<typeof RestSection>;
