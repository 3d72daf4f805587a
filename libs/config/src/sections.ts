import { type Static, Type } from '@sinclair/typebox';

/** Sections shared by the apps; each app composes the ones it uses into its own schema. */
export const KafkaSection = Type.Object(
  {
    brokers: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, default: ['127.0.0.1:19092'] }),
    clientId: Type.String({ default: 'granary' }),
  },
  { additionalProperties: false, default: {} },
);

export const SchemaRegistrySection = Type.Object(
  { url: Type.String({ default: 'http://127.0.0.1:18081/apis/ccompat/v7' }) },
  { additionalProperties: false, default: {} },
);

export const DatabaseSection = Type.Object(
  { url: Type.String({ default: 'postgres://granary@127.0.0.1:15432/granary' }) },
  { additionalProperties: false, default: {} },
);

export const RedisSection = Type.Object(
  {
    url: Type.String({ default: 'redis://127.0.0.1:16379' }),
    /** One attempt to open a connection (@granary/coordination's createRedisClient). */
    connectTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, default: 10_000 })),
  },
  { additionalProperties: false, default: {} },
);

export const StorageSection = Type.Object(
  {
    driver: Type.Union([Type.Literal('file'), Type.Literal('s3')], { default: 'file' }),
    file: Type.Object(
      { basePath: Type.String({ default: '.granary/storage' }) },
      { additionalProperties: false, default: {} },
    ),
    s3: Type.Object(
      {
        endpoint: Type.String({ default: 'http://127.0.0.1:18333' }),
        region: Type.String({ default: 'us-east-1' }),
        bucket: Type.String({ default: 'granary-aggregates' }),
        accessKeyId: Type.String({ default: 'granary' }),
        secretAccessKey: Type.String({ default: 'granary' }),
        /** `endpoint/bucket/key` (true) or virtual-hosted `bucket.endpoint-host/key` (false). */
        forcePathStyle: Type.Boolean({ default: true }),
        /** PEM CA bundle trusted alone for an https endpoint (a private CA); unset: the system's CAs. */
        caFile: Type.Optional(Type.String()),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

export const LogSection = Type.Object(
  {
    level: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
  },
  { additionalProperties: false, default: {} },
);

/** The admin HTTP server every app runs: `/metrics`, `/healthz`, `/readyz`. */
export const AdminSection = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
  },
  { additionalProperties: false, default: {} },
);

export type KafkaConfig = Static<typeof KafkaSection>;
export type SchemaRegistryConfig = Static<typeof SchemaRegistrySection>;
export type DatabaseConfig = Static<typeof DatabaseSection>;
export type RedisConfig = Static<typeof RedisSection>;
export type StorageConfig = Static<typeof StorageSection>;
export type LogConfig = Static<typeof LogSection>;
export type AdminConfig = Static<typeof AdminSection>;
