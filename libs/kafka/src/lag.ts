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
