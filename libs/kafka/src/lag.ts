import type { PartitionBounds, TopicAdmin } from './ports.ts';
import type { RecordBatch, TopicPartitionOffset } from './records.ts';

/**
 * Consumer lag, computed here only: the status page, the CLI and the consumers' own gauges all
 * count it the same way.
 */

/**
 * Records between `next` (the next offset a consumer reads; Kafka's committed offset, '-1' or
 * absent when none) and the partition's end `high`. With no committed offset a consumer reads
 * from the log start `low`, not from 0: records removed by retention are not behind anyone.
 * Never negative (a commit past the end after the topic was recreated).
 */
export function recordsBehind(
  bounds: { readonly low: string; readonly high: string },
  next?: string,
): number {
  const from = next !== undefined && BigInt(next) >= 0n ? BigInt(next) : BigInt(bounds.low);
  const high = BigInt(bounds.high);
  return Number(high > from ? high - from : 0n);
}

/** What a consumer has still to read on its partition once it has handled `batch`. */
export function lagAfter(batch: RecordBatch): number {
  const last = batch.records.at(-1);
  if (last === undefined) return 0;
  return recordsBehind({ low: '0', high: batch.highWatermark }, (BigInt(last.offset) + 1n).toString());
}

/** One partition of a group's position on a topic. */
export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** Next offset the group will read; null when it never committed on this partition. */
  readonly committed: string | null;
  readonly end: string;
  /** Records the group still has to read (from the log start when it never committed). */
  readonly lag: number;
}

/** The lag of every partition of `topic` (as `bounds` lists them) from a group's committed offsets. */
export function partitionLags(
  topic: string,
  bounds: readonly PartitionBounds[],
  committed: readonly TopicPartitionOffset[],
): PartitionLag[] {
  return bounds.map((partitionBounds) => {
    const offset = committed.find(
      (c) => c.topic === topic && c.partition === partitionBounds.partition,
    )?.offset;
    return {
      topic,
      partition: partitionBounds.partition,
      committed: offset !== undefined && BigInt(offset) >= 0n ? offset : null,
      end: partitionBounds.high,
      lag: recordsBehind(partitionBounds, offset),
    };
  });
}

/** How far a consumer group is behind on one topic. */
export interface GroupLag {
  readonly groupId: string;
  readonly topic: string;
  /** Records between each partition's end and the group's committed offset, summed. */
  readonly lag: number;
}

/** A group's lag on `topic`, summed over its partitions. */
export async function consumerGroupLag(
  admin: Pick<TopicAdmin, 'offsetBounds' | 'committedOffsets'>,
  groupId: string,
  topic: string,
): Promise<GroupLag> {
  const [bounds, committed] = await Promise.all([
    admin.offsetBounds(topic),
    admin.committedOffsets(groupId, topic),
  ]);
  const lag = partitionLags(topic, bounds, committed).reduce((sum, partition) => sum + partition.lag, 0);
  return { groupId, topic, lag };
}

/**
 * The lag of each group on its topic, leaving out a topic that does not exist (a deployment
 * without ingest has no samples topic). Asking kafkajs for an unknown topic's offsets would retry
 * for many seconds and then fail, so the topics are looked up first, by name only: this runs at
 * every status poll.
 */
export async function consumerGroupLags(
  admin: Pick<TopicAdmin, 'existingTopics' | 'offsetBounds' | 'committedOffsets'>,
  groups: readonly { readonly groupId: string; readonly topic: string }[],
): Promise<GroupLag[]> {
  const present = await admin.existingTopics(groups.map((g) => g.topic));
  return Promise.all(
    groups.filter((g) => present.has(g.topic)).map((g) => consumerGroupLag(admin, g.groupId, g.topic)),
  );
}
