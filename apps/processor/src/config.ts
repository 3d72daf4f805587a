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
import { type Static, Type } from '@sinclair/typebox';

const CrashPointSchema = Type.Union(
  ['apply', 'segment-write', 'after-segment', 'after-manifest', 'compaction'].map((point) =>
    Type.Literal(point),
  ),
);

/** The processor's own settings; every duration is in milliseconds. */
export const ProcessorSection = Type.Object(
  {
    groupId: Type.String({ default: 'granary-processors' }),
    /** Kafka session timeout: how long a vanished processor keeps its partitions. */
    sessionTimeoutMs: Type.Integer({ minimum: 1000, default: 6000 }),
    /** Create the measures and dead-letter topics when missing. */
    provisionTopics: Type.Boolean({ default: true }),
    /** S3: create the bucket when missing (development, tests). */
    createBucket: Type.Boolean({ default: false }),
    checkpoint: Type.Object(
      {
        intervalMs: Type.Integer({ minimum: 10, default: 5000 }),
        /** Checkpoint a partition at once when this many offsets are applied but not checkpointed. */
        maxPendingOffsets: Type.Integer({ minimum: 1, default: 50_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    compaction: Type.Object(
      {
        intervalMs: Type.Integer({ minimum: 10, default: 30_000 }),
        /** Compact a partition once it has this many live segments. */
        minSegments: Type.Integer({ minimum: 1, default: 6 }),
        /** Segments folded per compaction at most (the oldest). */
        maxSegments: Type.Integer({ minimum: 1, default: 64 }),
        /** No compaction this soon after claiming a partition (see ADR 0010). */
        graceMs: Type.Integer({ minimum: 0, default: 30_000 }),
        concurrency: Type.Integer({ minimum: 1, default: 16 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Raw tails fetched at once for metrics seen for the first time. */
    loadConcurrency: Type.Integer({ minimum: 1, default: 32 }),
    janitor: Type.Object(
      {
        intervalMs: Type.Integer({ minimum: 10, default: 300_000 }),
        batchSize: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Crash tests only: SIGKILL this process the `after`-th time it reaches `crashAt`. */
    faultInjection: Type.Optional(
      Type.Object(
        { crashAt: CrashPointSchema, after: Type.Integer({ minimum: 1 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, default: {} },
);

/** The processor's configuration (`loadConfig` fills it from defaults, YAML and environment). */
export const ProcessorConfigSchema = Type.Object(
  {
    processor: ProcessorSection,
    topics: TopicsSection,
    kafka: KafkaSection,
    schemaRegistry: SchemaRegistrySection,
    database: DatabaseSection,
    redis: RedisSection,
    storage: StorageSection,
    log: LogSection,
    admin: AdminSection,
  },
  { additionalProperties: false },
);

export type ProcessorConfig = Static<typeof ProcessorConfigSchema>;
