import { type TopicAdmin, recordsBehind } from '@granary/kafka';
import { type ObjectStore, readManifest } from '@granary/storage';

/** One partition of the measures topic as `/v1/status` reports it (the REST port's shape). */
export interface PartitionBacklog {
  partition: number;
  lag: number;
  checkpointOffset: number | null;
  owner: string | null;
}

export interface BacklogDeps {
  readonly admin: Pick<TopicAdmin, 'offsetBounds' | 'committedOffsets' | 'partitionOwners'>;
  readonly store: ObjectStore;
  readonly topic: string;
  /** The processors' consumer group. */
  readonly groupId: string;
}

/**
 * The processors' backlog per partition: records produced but not committed by the group, and
 * the offset each partition's manifest is checkpointed to. Kafka's committed offset trails the
 * manifest (ADR 0010 commits after it), so the lag counts from whichever is further. `owner` is
 * the group member assigned the partition, null while the group rebalances.
 */
export async function measuresBacklog(deps: BacklogDeps): Promise<PartitionBacklog[]> {
  const { admin, store, topic, groupId } = deps;
  const [bounds, committed, owners] = await Promise.all([
    admin.offsetBounds(topic),
    admin.committedOffsets(groupId, topic),
    admin.partitionOwners(groupId, topic),
  ]);
  const committedBy = new Map(committed.map((c) => [c.partition, Number(c.offset)]));
  return Promise.all(
    [...bounds]
      .sort((a, b) => a.partition - b.partition)
      .map(async (partitionBounds) => {
        const { partition } = partitionBounds;
        const manifest = await readManifest(store, topic, partition);
        const checkpointOffset = manifest ? manifest.manifest.offset : null;
        const next = Math.max(committedBy.get(partition) ?? -1, checkpointOffset ?? -1);
        const owner = owners.get(partition) ?? null;
        return { partition, lag: recordsBehind(partitionBounds, String(next)), checkpointOffset, owner };
      }),
  );
}
