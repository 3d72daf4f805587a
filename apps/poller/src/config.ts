import { AdminSection, KafkaSection, LogSection, SchemaRegistrySection } from '@granary/config';
import { TopicSpecSchema, TopicsSection } from '@granary/kafka';
import { PLACEHOLDER_TELEMETRY_SECRET } from '@granary/telemetry';
import { type Static, Type } from '@sinclair/typebox';

/** The poller's own settings: Ceilometer's [polling] and [publisher] options, and scale-out. */
export const PollerSection = Type.Object(
  {
    /**
     * polling.yaml (Ceilometer format); reloaded when it changes and on SIGHUP. The default is where
     * the Kubernetes manifests mount it (Ceilometer's is /etc/ceilometer/polling.yaml).
     */
    pollingFile: Type.String({ minLength: 1, default: '/etc/granary/polling.yaml' }),
    /** Ceilometer's `pollsters_definitions_dirs`: every `*.yaml` in them holds dynamic pollsters. */
    pollstersDefinitionsDirs: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    /**
     * Ceilometer's `[publisher]telemetry_secret`; empty disables signing. The default is
     * Ceilometer's public placeholder, refused at start unless `allowPlaceholderSecret` (development only).
     */
    telemetrySecret: Type.String({ default: PLACEHOLDER_TELEMETRY_SECRET }),
    allowPlaceholderSecret: Type.Boolean({ default: false }),
    /** Ceilometer's `[DEFAULT]sample_source`. */
    sampleSource: Type.String({ minLength: 1, default: 'openstack' }),
    /** Ceilometer's `[polling]batch_size`: most samples per produce request (0: no limit, a run's samples travel together). */
    batchSize: Type.Integer({ minimum: 0, default: 50 }),
    /** Name of this machine for the `local_node` discovery; empty means the OS host name. */
    host: Type.String({ default: '' }),
    /** Service catalog for the `endpoint:<type>` discovery (Granary runs without Keystone). */
    endpoints: Type.Record(Type.String(), Type.Array(Type.String({ minLength: 1 })), { default: {} }),
    /** How often the polling file's modification time is checked, ms. */
    watchIntervalMs: Type.Integer({ minimum: 100, default: 1000 }),
    /** Pollster runs of one cycle in flight at once. */
    concurrency: Type.Integer({ minimum: 1, default: 4 }),
    prometheusTimeoutMs: Type.Integer({ minimum: 1, default: 10_000 }),
    /** Ceilometer's hardware SNMP definitions; empty uses the yoga file shipped with Granary. */
    snmpDefinitionsFile: Type.String({ default: '' }),
    snmpTimeoutMs: Type.Integer({ minimum: 1, default: 2000 }),
    /** The compute pollsters' hypervisor (Ceilometer's `[DEFAULT]libvirt_uri`), read through `virsh`. */
    libvirt: Type.Object(
      {
        uri: Type.String({ minLength: 1, default: 'qemu:///system' }),
        /**
         * A libvirt that does not answer discovers no instances, logged once at info level,
         * instead of a counted discovery failure every cycle: for machines that may have no hypervisor.
         */
        optional: Type.Boolean({ default: false }),
        timeoutMs: Type.Integer({ minimum: 1, default: 10_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /**
     * Scale-out: replicas join one consumer group on a small topic; the partitions a replica is
     * assigned decide the shared resources it polls (murmur2 of the resource, as Kafka keys).
     */
    coordination: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        groupId: Type.String({ minLength: 1, default: 'granary-poller' }),
        topic: Type.Composite([TopicSpecSchema], {
          additionalProperties: false,
          default: {
            name: 'granary.poller.coordination',
            // Caps the useful replicas; as k8s/base/kafka-topics.yaml creates it.
            partitions: 8,
            replicationFactor: 1,
            retentionMs: 3_600_000,
            cleanupPolicy: 'delete',
          },
        }),
        /** How soon a replica that died stops owning its partitions (Kafka's session timeout). */
        sessionTimeoutMs: Type.Integer({ minimum: 6000, default: 10_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

/** The poller's configuration (`loadConfig` fills it from defaults, YAML and environment). */
export const PollerConfigSchema = Type.Object(
  {
    poller: PollerSection,
    kafka: KafkaSection,
    schemaRegistry: SchemaRegistrySection,
    topics: TopicsSection,
    log: LogSection,
    admin: AdminSection,
  },
  { additionalProperties: false },
);

export type PollerConfig = Static<typeof PollerConfigSchema>;
