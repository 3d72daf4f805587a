import { type TopicAdmin, type TopicDrift, type TopicSpec, provisionTopics } from '@granary/kafka';

/** Settings `topics apply` changes in place: safe, since they move no record between partitions. */
const UPDATABLE_SETTINGS: ReadonlySet<TopicDrift['setting']> = new Set(['retention.ms', 'cleanup.policy']);

/** Why the other settings are reported but left alone. */
const WHY_NOT_CHANGED: Record<TopicDrift['setting'], string> = {
  partitions:
    'not changed: more partitions would send keys to other partitions (and orphan checkpointed state); fewer is impossible',
  replicationFactor: 'not changed: needs a partition reassignment (kafka-reassign-partitions.sh)',
  'retention.ms': '',
  'cleanup.policy': '',
};

export interface TopicChange {
  topic: string;
  setting: TopicDrift['setting'];
  from: string;
  to: string;
}

export interface TopicsApplyReport {
  dryRun: boolean;
  created: string[];
  updated: TopicChange[];
  unchanged: string[];
  /** Differences `apply` does not resolve; the operator must decide. */
  drift: TopicDrift[];
}

/** What `topics apply` needs of the cluster. */
export type TopicsApplyAdmin = Pick<TopicAdmin, 'describeTopics' | 'createTopics' | 'alterTopicConfigs'>;

/** The admin as provisioning sees it under `--dry-run`: it reads the cluster and changes nothing. */
function readOnly(admin: TopicsApplyAdmin): Pick<TopicAdmin, 'describeTopics' | 'createTopics'> {
  return { describeTopics: (names) => admin.describeTopics(names), createTopics: async () => {} };
}

/**
 * Make the cluster's topics match `specs` as far as that is safe: create missing topics, set
 * retention and cleanup policy, and report partition or replication differences without touching
 * them. Running it again right after changes nothing.
 */
export async function applyTopics(
  admin: TopicsApplyAdmin,
  specs: readonly TopicSpec[],
  options: { dryRun: boolean },
): Promise<TopicsApplyReport> {
  const provisioned = await provisionTopics(options.dryRun ? readOnly(admin) : admin, specs);
  const updatable = provisioned.drift.filter((d) => UPDATABLE_SETTINGS.has(d.setting));
  if (!options.dryRun) {
    const entriesByTopic = new Map<string, Record<string, string>>();
    for (const d of updatable)
      entriesByTopic.set(d.topic, { ...entriesByTopic.get(d.topic), [d.setting]: d.expected });
    for (const [topic, entries] of entriesByTopic) await admin.alterTopicConfigs(topic, entries);
  }
  return {
    dryRun: options.dryRun,
    created: provisioned.created,
    updated: updatable.map((d) => ({ topic: d.topic, setting: d.setting, from: d.actual, to: d.expected })),
    unchanged: provisioned.unchanged,
    drift: provisioned.drift.filter((d) => !UPDATABLE_SETTINGS.has(d.setting)),
  };
}

/** One line per topic action, the way `topics apply` prints them. */
export function renderTopicsReport(report: TopicsApplyReport): string {
  const verb = (done: string, planned: string) => (report.dryRun ? planned : done).padEnd(14);
  const lines = [
    ...report.created.map((topic) => `${verb('created', 'would create')}${topic}`),
    ...report.updated.map(
      (c) => `${verb('updated', 'would update')}${c.topic}: ${c.setting} ${c.from} -> ${c.to}`,
    ),
    ...report.unchanged.map((topic) => `${'unchanged'.padEnd(14)}${topic}`),
    ...report.drift.map(
      (d) =>
        `${'DRIFT'.padEnd(14)}${d.topic}: ${d.setting} is ${d.actual}, configured ${d.expected} (${WHY_NOT_CHANGED[d.setting]})`,
    ),
  ];
  return lines.join('\n');
}
