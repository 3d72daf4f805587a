import {
  AdminSection,
  DatabaseSection,
  KafkaSection,
  LogSection,
  RedisSection,
  SchemaRegistrySection,
} from '@granary/config';
import { TopicSpecSchema, TopicsSection } from '@granary/kafka';
import { PLACEHOLDER_TELEMETRY_SECRET } from '@granary/telemetry';
import { type Static, Type } from '@sinclair/typebox';

/** Ingest's own settings: Ceilometer's notification agent and Gnocchi publisher options. */
export const IngestSection = Type.Object(
  {
    groupId: Type.String({ minLength: 1, default: 'granary-ingest' }),
    sessionTimeoutMs: Type.Integer({ minimum: 6000, default: 6000 }),
    /** Create the topics ingest reads and writes when missing. */
    provisionTopics: Type.Boolean({ default: true }),
    /**
     * Ceilometer's `[publisher]telemetry_secret`. When set, every sample must carry a valid
     * signature; empty accepts unsigned samples. The default is Ceilometer's public placeholder
     * (the poller's too), refused at start unless `allowPlaceholderSecret` (development only).
     */
    telemetrySecret: Type.String({ default: PLACEHOLDER_TELEMETRY_SECRET }),
    allowPlaceholderSecret: Type.Boolean({ default: false }),
    /** pipeline.yaml (Ceilometer format); empty passes every sample straight to the publisher. */
    pipelineFile: Type.String({ default: '' }),
    /** gnocchi_resources.yaml (either format); empty uses apps/ingest/config/gnocchi_resources.yaml. */
    resourcesDefinitionFile: Type.String({ default: '' }),
    /** Creator of the resources and metrics ingest makes; non-UUID resource ids map to UUIDv5 with it. */
    creator: Type.String({ minLength: 1, default: 'granary-ingest' }),
    /** Ceilometer's own Kafka output (oslo.messaging notifications), so an unchanged Ceilometer feeds Granary. */
    oslo: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        topic: Type.Composite([TopicSpecSchema], {
          additionalProperties: false,
          default: {
            name: 'notifications.sample',
            partitions: 4,
            replicationFactor: 1,
            retentionMs: 604_800_000,
            cleanupPolicy: 'delete',
          },
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    /**
     * OpenStack services' notifications (Ceilometer's notification agent): the oslo.messaging Kafka
     * driver's `<topic>.<priority>` topics, turned into samples by meters.yaml definitions.
     */
    notifications: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        topics: Type.Array(Type.Composite([TopicSpecSchema], { additionalProperties: false }), {
          default: [
            {
              name: 'notifications.info',
              partitions: 4,
              replicationFactor: 1,
              retentionMs: 604_800_000,
              cleanupPolicy: 'delete',
            },
          ],
        }),
        /** Ceilometer's meters.yaml format; empty uses apps/ingest/config/meters.yaml. */
        metersFile: Type.String({ default: '' }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** UDP inputs, off unless enabled: nothing listens on a port the operator did not ask for. */
    udp: Type.Object(
      {
        /** Ceilometer's `udp://host:port` publisher: one signed msgpack meter dict per datagram. */
        samples: Type.Object(
          {
            enabled: Type.Boolean({ default: false }),
            host: Type.String({ minLength: 1, default: '0.0.0.0' }),
            port: Type.Integer({ minimum: 0, maximum: 65_535, default: 4952 }),
            /** Samples are published in batches, at least this often. */
            flushIntervalMs: Type.Integer({ minimum: 10, default: 200 }),
            /** Samples waiting for a batch; beyond, datagrams are dropped and counted. */
            maxPending: Type.Integer({ minimum: 1, default: 10_000 }),
          },
          { additionalProperties: false, default: {} },
        ),
        /** Gnocchi's statsd daemon (`gnocchi-statsd`): counters, gauges and timers into one resource. */
        statsd: Type.Object(
          {
            enabled: Type.Boolean({ default: false }),
            host: Type.String({ minLength: 1, default: '0.0.0.0' }),
            port: Type.Integer({ minimum: 0, maximum: 65_535, default: 8125 }),
            /** The generic resource the metrics belong to (`[statsd]resource_id`); required when enabled. */
            resourceId: Type.String({ default: '' }),
            creator: Type.String({ minLength: 1, default: 'granary-statsd' }),
            /** Archive policy of the metrics it creates; empty lets the archive policy rules choose. */
            archivePolicyName: Type.String({ default: '' }),
            /** `[statsd]flush_delay`. */
            flushDelayMs: Type.Integer({ minimum: 100, default: 10_000 }),
            /** Distinct metrics held per flush interval; lines of further names are dropped and counted. */
            maxNamesPerFlush: Type.Integer({ minimum: 1, default: 10_000 }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    cache: Type.Object(
      {
        /** Resource fingerprints and metric ids remembered in this process. */
        memoryEntries: Type.Integer({ minimum: 1, default: 200_000 }),
        redisKeyPrefix: Type.String({ default: 'granary:ingest:' }),
        redisTtlSeconds: Type.Integer({ minimum: 1, default: 86_400 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Index round trips in flight at once for the resources of a batch not found in the caches. */
    indexConcurrency: Type.Integer({ minimum: 1, default: 4 }),
    indexConnections: Type.Integer({ minimum: 1, default: 6 }),
  },
  { additionalProperties: false, default: {} },
);

export const IngestConfigSchema = Type.Object(
  {
    ingest: IngestSection,
    kafka: KafkaSection,
    schemaRegistry: SchemaRegistrySection,
    topics: TopicsSection,
    database: DatabaseSection,
    redis: RedisSection,
    log: LogSection,
    admin: AdminSection,
  },
  { additionalProperties: false },
);

export type IngestConfig = Static<typeof IngestConfigSchema>;
