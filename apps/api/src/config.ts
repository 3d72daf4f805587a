import {
  AdminSection,
  DatabaseSection,
  KafkaSection,
  LogSection,
  RedisSection,
  SchemaRegistrySection,
  StorageSection,
} from '@granary/config';
import { TopicsSection } from '@granary/kafka';
import { RestSection } from '@granary/rest';
import { type Static, Type } from '@sinclair/typebox';

/** The query service's configuration (`loadConfig` fills it from defaults, YAML and environment). */
export const ApiConfigSchema = Type.Object(
  {
    api: RestSection,
    database: DatabaseSection,
    index: Type.Object(
      {
        maxConnections: Type.Integer({ minimum: 1, default: 10 }),
        /** Apply pending index migrations at start-up (every replica may; they are safe to race). */
        migrate: Type.Boolean({ default: true }),
        /** `defaults`: Gnocchi's default policies and rule into an empty index; `empty`: none. */
        seed: Type.Union([Type.Literal('defaults'), Type.Literal('empty')], { default: 'defaults' }),
      },
      { additionalProperties: false, default: {} },
    ),
    kafka: KafkaSection,
    schemaRegistry: SchemaRegistrySection,
    topics: TopicsSection,
    storage: StorageSection,
    redis: RedisSection,
    measures: Type.Object(
      {
        /** Produce measure writes to Kafka; off, the measure endpoints answer 503 after their checks. */
        writes: Type.Boolean({ default: true }),
        /** How long `refresh=true` waits for the partition's checkpoint (Gnocchi's operation_timeout). */
        refreshTimeoutMs: Type.Integer({ minimum: 1, default: 10_000 }),
        /** Decoded live checkpoint segments kept in memory, in encoded bytes. */
        segmentCacheBytes: Type.Integer({ minimum: 0, default: 64 * 1024 * 1024 }),
        /** Decoded compacted splits kept in memory (encoded and decoded bytes); a year of minutes ≈ 12 MiB. */
        splitCacheBytes: Type.Integer({ minimum: 0, default: 64 * 1024 * 1024 }),
        /** The processors' consumer group, whose lag `/v1/status` reports. */
        processorGroupId: Type.String({ default: 'granary-processors' }),
      },
      { additionalProperties: false, default: {} },
    ),
    status: Type.Object(
      {
        /** Ingest's consumer group, whose lag on the samples topic `/v1/status?details=true` shows. */
        ingestGroupId: Type.String({ minLength: 1, default: 'granary-ingest' }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: LogSection,
    admin: AdminSection,
  },
  { additionalProperties: false },
);

export type ApiConfig = Static<typeof ApiConfigSchema>;
