import { type Static, Type } from '@sinclair/typebox';
import { AuthSection } from './auth/config.ts';

/** The query service's own configuration section (`api:` in the app's config). */
export const RestSection = Type.Object(
  {
    host: Type.String({ default: '0.0.0.0' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8041 }),
    auth: AuthSection,
    /** Gnocchi's `[api] max_limit`: the default and the largest page size. */
    maxLimit: Type.Integer({ minimum: 1, default: 1000 }),
    /** Larger request bodies are refused with 413 before they are parsed. */
    bodyLimitBytes: Type.Integer({ minimum: 1024, default: 16 * 1024 * 1024 }),
    /** Deeper JSON bodies are refused with 400 before any route walks them (recursion is bounded). */
    maxJsonDepth: Type.Integer({ minimum: 8, default: 64 }),
    /** Metrics one aggregates request may reference (ids, or matches of its name patterns). */
    maxMetricsPerAggregation: Type.Integer({ minimum: 1, default: 1000 }),
    /**
     * Bytes of recent `GET …/measures` bodies kept so that reading a series again copies the rows
     * that did not change instead of formatting them (a year of 1-minute points is ~28 MB); 0: off.
     */
    measuresBodyCacheBytes: Type.Integer({ minimum: 0, default: 64 * 1024 * 1024 }),
    /** Metrics (or resources) one batch write may name. */
    maxMetricsPerBatch: Type.Integer({ minimum: 1, default: 1000 }),
    /** Longest metric-name pattern of the aggregates' resource form (names are at most 255). */
    maxGlobLength: Type.Integer({ minimum: 1, default: 1024 }),
    /** A request not answered within this is cut (node's `requestTimeout`). */
    requestTimeoutMs: Type.Integer({ minimum: 1000, default: 120_000 }),
    /** A socket idle this long before the request is read is closed (`connectionTimeout`). */
    connectionTimeoutMs: Type.Integer({ minimum: 1000, default: 60_000 }),
    /** An idle keep-alive connection is closed after this (`keepAliveTimeout`). */
    keepAliveTimeoutMs: Type.Integer({ minimum: 100, default: 65_000 }),
    /**
     * Gnocchi's `[api] enable_proxy_headers_parsing`: build the links of answers (Location, Link,
     * `links`) from `Forwarded` (RFC 7239) or `X-Forwarded-Proto/Host`, and `X-Forwarded-Prefix`.
     * Off by default, as in Gnocchi: only a proxy that sets (or strips) these headers on every
     * request makes them trustworthy; otherwise any client chooses where the links it gets point.
     */
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
