import type { TopicAdmin } from '@granary/kafka';
import { type ObjectStore, writeManifest } from '@granary/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { measuresBacklog } from '../index.ts';
import { TOPIC, temporaryStore } from './support.ts';

let store: ObjectStore;
let cleanup: () => void;
beforeEach(() => {
  ({ store, cleanup } = temporaryStore());
});
afterEach(() => cleanup());

/** An admin client knowing offsets per partition (end, and log start when not 0), the group's commits and its assignment. */
const adminWith = (
  ends: number[],
  committed: Record<number, number>,
  owners: Record<number, string> = {},
  lows: Record<number, number> = {},
  group = 'processors',
) =>
  ({
    offsetBounds: async (topic: string) => {
      expect(topic).toBe(TOPIC);
      return ends
        .map((high, partition) => ({ partition, low: String(lows[partition] ?? 0), high: String(high) }))
        .reverse();
    },
    committedOffsets: async (groupId: string, topic: string) => {
      expect(groupId).toBe(group);
      return ends.map((_, partition) => ({ topic, partition, offset: String(committed[partition] ?? -1) }));
    },
    partitionOwners: async (groupId: string, topic: string) => {
      expect([groupId, topic]).toEqual([group, TOPIC]);
      return new Map(Object.entries(owners).map(([partition, owner]) => [Number(partition), owner]));
    },
  }) as unknown as TopicAdmin;

const checkpointAt = (partition: number, offset: number) =>
  writeManifest(
    store,
    { topic: TOPIC, partition, generation: 1, offset, segments: [], updatedAtUs: 0 },
    null,
  );

describe('measuresBacklog', () => {
  it('reports per partition the records past the furthest of the commit and the checkpoint', async () => {
    await checkpointAt(0, 40); // checkpointed, commit not yet made
    await checkpointAt(1, 5); // committed further than this older manifest says
    const backlog = await measuresBacklog({
      admin: adminWith([50, 20, 7], { 0: 30, 1: 15 }, { 0: '10.0.0.1 p-1', 2: '10.0.0.2 p-2' }),
      store,
      topic: TOPIC,
      groupId: 'processors',
    });
    expect(backlog).toEqual([
      { partition: 0, lag: 10, checkpointOffset: 40, owner: '10.0.0.1 p-1' },
      { partition: 1, lag: 5, checkpointOffset: 5, owner: null },
      { partition: 2, lag: 7, checkpointOffset: null, owner: '10.0.0.2 p-2' },
    ]);
  });

  it('counts a partition neither committed nor checkpointed from its log start (retention removed the rest)', async () => {
    const backlog = await measuresBacklog({
      admin: adminWith([50], {}, {}, { 0: 45 }),
      store,
      topic: TOPIC,
      groupId: 'processors',
    });
    expect(backlog).toEqual([{ partition: 0, lag: 5, checkpointOffset: null, owner: null }]);
  });
});
