import type { TopicAdmin } from './ports.ts';

/** How far a consumer group is behind on one topic. */
export interface GroupLag {
  readonly groupId: string;
  readonly topic: string;
  /** Records between each partition's end and the group's committed offset, summed. */
  readonly lag: number;
}

/**
 * A group's lag on `topic` from its committed offsets. A partition it never committed counts
 * from offset 0, as a consumer starting from the earliest record would read it.
 */
export async function consumerGroupLag(
  admin: Pick<TopicAdmin, 'endOffsets' | 'committedOffsets'>,
  groupId: string,
  topic: string,
): Promise<GroupLag> {
  const [ends, committed] = await Promise.all([
    admin.endOffsets(topic),
    admin.committedOffsets(groupId, topic),
  ]);
  const committedBy = new Map(committed.map((c) => [c.partition, Number(c.offset)]));
  const lag = ends.reduce(
    (sum, { partition, offset }) =>
      sum + Math.max(0, Number(offset) - Math.max(committedBy.get(partition) ?? 0, 0)),
    0,
  );
  return { groupId, topic, lag };
}

/**
 * The lag of each group on its topic, leaving out a topic that does not exist (a deployment
 * without ingest has no samples topic). Asking kafkajs for an unknown topic's offsets would retry
 * for many seconds and then fail, so the topics are looked up first.
 */
export async function consumerGroupLags(
  admin: Pick<TopicAdmin, 'describeTopics' | 'endOffsets' | 'committedOffsets'>,
  groups: readonly { readonly groupId: string; readonly topic: string }[],
): Promise<GroupLag[]> {
  const present = await admin.describeTopics([...new Set(groups.map((g) => g.topic))]);
  return Promise.all(
    groups.filter((g) => present.has(g.topic)).map((g) => consumerGroupLag(admin, g.groupId, g.topic)),
  );
}
