import type { Logger } from '@granary/observability';
import { type Static, Type } from '@sinclair/typebox';
import { kafkaErrors } from './errors.ts';
import type { KafkaClient, TopicAdmin } from './ports.ts';

const WEEK_MS = 7 * 24 * 3600 * 1000;

/** One topic as configuration wants it; apps compose these into their config schema. */
export const TopicSpecSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    partitions: Type.Integer({ minimum: 1 }),
    replicationFactor: Type.Integer({ minimum: 1, default: 1 }),
    /** `retention.ms`; -1 keeps records forever. */
    retentionMs: Type.Integer({ minimum: -1, default: WEEK_MS }),
    cleanupPolicy: Type.Union(
      [Type.Literal('delete'), Type.Literal('compact'), Type.Literal('compact,delete')],
      { default: 'delete' },
    ),
  },
  { additionalProperties: false },
);
export type TopicSpec = Static<typeof TopicSpecSchema>;

const topicWithDefaults = (name: string, partitions: number, retentionMs = WEEK_MS) =>
  Type.Composite([TopicSpecSchema], {
    additionalProperties: false,
    default: { name, partitions, replicationFactor: 1, retentionMs, cleanupPolicy: 'delete' },
  });

/**
 * Granary's topics with their defaults (ARCHITECTURE.md, Contracts). The measures partition count
 * fixes which partition owns a metric, so it must not change once data flows; dead letters are
 * kept a month for inspection and redrive.
 */
export const TopicsSection = Type.Object(
  {
    samples: topicWithDefaults('granary.samples', 16),
    measures: topicWithDefaults('granary.measures', 64),
    samplesDeadLetter: topicWithDefaults('granary.samples.dlq', 4, 4 * WEEK_MS),
    measuresDeadLetter: topicWithDefaults('granary.measures.dlq', 4, 4 * WEEK_MS),
  },
  { additionalProperties: false, default: {} },
);
export type TopicsConfig = Static<typeof TopicsSection>;

/** The broker-side configuration entries a spec sets. */
export function topicConfigEntries(spec: TopicSpec): Record<string, string> {
  return { 'retention.ms': String(spec.retentionMs), 'cleanup.policy': spec.cleanupPolicy };
}

export interface TopicDrift {
  topic: string;
  setting: 'partitions' | 'replicationFactor' | 'retention.ms' | 'cleanup.policy';
  expected: string;
  actual: string;
}

export interface ProvisioningReport {
  created: string[];
  /** Topics that existed exactly as configured. */
  unchanged: string[];
  /** Differences between configuration and cluster; reported, never changed automatically. */
  drift: TopicDrift[];
}

/**
 * Make sure every topic of `specs` exists: create the missing ones, and compare the existing ones
 * with their configuration. Drift is reported rather than fixed, because the fix is not safe to
 * automate: more partitions would move keys to other partitions (breaking metric ownership), and
 * fewer is impossible. Running it again changes nothing.
 */
export async function provisionTopics(
  admin: Pick<TopicAdmin, 'describeTopics' | 'createTopics'>,
  specs: readonly TopicSpec[],
  logger?: Logger,
): Promise<ProvisioningReport> {
  const names = specs.map((s) => s.name);
  if (new Set(names).size !== names.length) {
    throw kafkaErrors('KAFKA_TOPIC_PROVISIONING_FAILED', `topic names repeat: ${names.join(', ')}`);
  }
  const existing = await admin.describeTopics(names);
  const missing = specs.filter((spec) => !existing.has(spec.name));
  if (missing.length > 0) await admin.createTopics(missing);

  const report: ProvisioningReport = { created: missing.map((s) => s.name), unchanged: [], drift: [] };
  for (const spec of specs) {
    const observed = existing.get(spec.name);
    if (!observed) continue;
    const differences = compare(spec, observed);
    if (differences.length === 0) report.unchanged.push(spec.name);
    report.drift.push(...differences);
  }
  if (report.created.length > 0) logger?.info({ topics: report.created }, 'created topics');
  for (const drift of report.drift) logger?.warn(drift, 'topic differs from its configuration');
  return report;
}

function compare(
  spec: TopicSpec,
  observed: { partitions: number; replicationFactor: number; configs: Record<string, string | undefined> },
): TopicDrift[] {
  const expected: Array<[TopicDrift['setting'], string, string | undefined]> = [
    ['partitions', String(spec.partitions), String(observed.partitions)],
    ['replicationFactor', String(spec.replicationFactor), String(observed.replicationFactor)],
    ...Object.entries(topicConfigEntries(spec)).map(
      ([key, value]) =>
        [key as TopicDrift['setting'], value, observed.configs[key]] as [
          TopicDrift['setting'],
          string,
          string | undefined,
        ],
    ),
  ];
  return expected
    .filter(([, want, have]) => want !== have)
    .map(([setting, want, have]) => ({
      topic: spec.name,
      setting,
      expected: want,
      actual: have ?? '(unset)',
    }));
}

/**
 * Runs `work` with a connected admin of `client`, disconnected afterwards whatever happens: an admin
 * keeps a broker connection open, and a start-up that fails half-way must not leak it.
 */
export async function withTopicAdmin<T>(
  client: Pick<KafkaClient, 'createAdmin'>,
  work: (admin: TopicAdmin) => Promise<T>,
): Promise<T> {
  const admin = client.createAdmin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}
