import { type PartitionLag, partitionLags } from '@granary/kafka';
import { cliErrors } from './errors.ts';
import type { GroupState, KafkaTools } from './kafka-tools.ts';
import { textTable } from './output.ts';

export interface GroupLag extends GroupState {
  partitions: PartitionLag[];
  totalLag: number;
  /** Topics the group still has offsets on that no longer exist (deleted since). */
  deletedTopics: string[];
}

/** State, members and per-partition lag of `groupId` (on `topic`, or every topic it committed on). */
export async function describeGroupLag(
  tools: KafkaTools,
  groupId: string,
  topic?: string,
): Promise<GroupLag> {
  const state = await tools.describeGroup(groupId);
  const committed = await tools.committedOffsets(groupId, topic);
  const topics = topic ? [topic] : [...new Set(committed.map((c) => c.topic))].sort();
  const partitions: PartitionLag[] = [];
  const deletedTopics: string[] = [];
  for (const name of topics) {
    if (await tools.topicExists(name))
      partitions.push(...partitionLags(name, await tools.partitionBounds(name), committed));
    else deletedTopics.push(name);
  }
  return { ...state, partitions, totalLag: partitions.reduce((sum, p) => sum + p.lag, 0), deletedTopics };
}

export function renderGroupLag(group: GroupLag): string {
  const header = `group ${group.groupId} (${group.state}, ${group.members} member${group.members === 1 ? '' : 's'}), total lag ${group.totalLag}`;
  const deleted = group.deletedTopics.map((topic) => `  ${topic}: offsets of a deleted topic`);
  if (group.partitions.length === 0 && deleted.length === 0) return `${header}\n  no committed offsets`;
  if (group.partitions.length === 0) return [header, ...deleted].join('\n');
  const table = [
    ['topic', 'partition', 'committed', 'end', 'lag'],
    ...group.partitions.map((p) => [p.topic, String(p.partition), p.committed ?? '-', p.end, String(p.lag)]),
  ];
  return [header, ...textTable(table).map((line) => `  ${line}`), ...deleted].join('\n');
}

/** Where `offsets reset --to` moves a group: a partition's first, end, or first-at-time offset. */
export type ResetTarget = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'time'; epochMs: number };

export interface OffsetMove {
  partition: number;
  from: string | null;
  to: string;
}

/**
 * Move the committed offsets of `groupId` on `topic` (the given partitions, or all) to `target`.
 * Refused (CLI_GROUP_ACTIVE) while the group has members: they would overwrite the new offsets
 * with their next commit, and one must not pull the floor from under a running processor.
 */
export async function resetOffsets(
  tools: KafkaTools,
  groupId: string,
  topic: string,
  target: ResetTarget,
  options: { partitions?: readonly number[]; dryRun: boolean },
): Promise<{ groupId: string; topic: string; dryRun: boolean; moves: OffsetMove[] }> {
  const group = await tools.describeGroup(groupId);
  if (group.members > 0) {
    throw cliErrors('CLI_GROUP_ACTIVE', `${groupId} is ${group.state} with ${group.members} member(s)`, {
      details: { ...group },
    });
  }
  const bounds = await tools.partitionBounds(topic);
  for (const partition of options.partitions ?? []) {
    if (!bounds.some((b) => b.partition === partition)) {
      throw cliErrors('CLI_USAGE', `partition ${partition} does not exist (the topic has ${bounds.length})`);
    }
  }
  const atTime = target.kind === 'time' ? await tools.offsetsAtTime(topic, target.epochMs) : undefined;
  const committed = await tools.committedOffsets(groupId, topic);
  const moves = bounds
    .filter((b) => options.partitions === undefined || options.partitions.includes(b.partition))
    .map(({ partition, low, high }) => {
      const from = committed.find((c) => c.partition === partition)?.offset;
      const to = target.kind === 'earliest' ? low : target.kind === 'latest' ? high : atTime!.get(partition)!;
      return { partition, from: from !== undefined && BigInt(from) >= 0n ? from : null, to };
    });
  if (!options.dryRun)
    await tools.setOffsets(
      groupId,
      topic,
      moves.map(({ partition, to }) => ({ partition, offset: to })),
    );
  return { groupId, topic, dryRun: options.dryRun, moves };
}
