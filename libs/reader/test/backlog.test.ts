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

/** An admin client knowing only offsets: end offsets per partition, and the group's commits. */
const adminWith = (ends: number[], committed: Record<number, number>, group = 'processors') =>
  ({
    endOffsets: async (topic: string) => {
      expect(topic).toBe(TOPIC);
      return ends.map((offset, partition) => ({ topic, partition, offset: String(offset) })).reverse();
    },
    committedOffsets: async (groupId: string, topic: string) => {
      expect(groupId).toBe(group);
      return ends.map((_, partition) => ({ topic, partition, offset: String(committed[partition] ?? -1) }));
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
      admin: adminWith([50, 20, 7], { 0: 30, 1: 15 }),
      store,
      topic: TOPIC,
      groupId: 'processors',
    });
    expect(backlog).toEqual([
      { partition: 0, lag: 10, checkpointOffset: 40, owner: null },
      { partition: 1, lag: 5, checkpointOffset: 5, owner: null },
      { partition: 2, lag: 7, checkpointOffset: null, owner: null },
    ]);
  });
});
