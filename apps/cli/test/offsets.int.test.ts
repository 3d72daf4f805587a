import type { BatchConsumer } from '@granary/kafka';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTopics,
  deleteTopics,
  granary,
  produce,
  testKafka,
  topicSpec,
  uniqueName,
} from './integration.ts';

afterAll(() => deleteTopics());

const eventually = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 50));
};

/** A member of `groupId` that reads `topic` and commits after each batch, until stopped. */
async function joinGroup(groupId: string, topic: string, untilRecords: number) {
  let seen = 0;
  let assigned = false;
  const consumer: BatchConsumer = testKafka().createConsumer({
    groupId,
    topics: [topic],
    onAssigned: () => {
      assigned = true;
    },
  });
  const running = consumer.run(async (batch) => {
    seen += batch.records.length;
  });
  await eventually(() => assigned && seen >= untilRecords);
  return {
    stop: async () => {
      await consumer.stop();
      await running;
    },
  };
}

type Shown = {
  groups: Array<{
    state: string;
    members: number;
    totalLag: number;
    partitions: Array<{ partition: number; committed: string | null; lag: number }>;
  }>;
};

describe('granary offsets', () => {
  it('shows lag per partition, resets to earliest/latest/time when idle, and refuses while the group is active', async () => {
    const topic = uniqueName('offsets');
    const group = uniqueName('group');
    await createTopics(topicSpec(topic, 2));
    await produce(
      Array.from({ length: 10 }, (_, i) => ({
        topic,
        key: null,
        value: Buffer.from(`r${i}`),
        partition: i % 2,
      })),
    );

    const member = await joinGroup(group, topic, 10);
    const show = async () =>
      JSON.parse((await granary(['offsets', 'show', '--group', group, '--json'])).out) as Shown;
    const resetTo = (to: string, ...options: string[]) =>
      granary(['offsets', 'reset', '--group', group, '--topic', topic, '--to', to, ...options]);
    const active = await show();
    expect(active.groups[0]).toMatchObject({ state: 'Stable', members: 1 });
    // `offsets show` without --group lists every consumer group of the cluster (TopicAdmin.listGroups).
    const admin = testKafka().createAdmin();
    await admin.connect();
    expect(await admin.listGroups()).toContain(group);
    await admin.disconnect();

    const refused = await resetTo('earliest', '--json');
    expect(refused.code).toBe(3);
    expect(JSON.parse(refused.err)).toMatchObject({ code: 'CLI_GROUP_ACTIVE' });
    await member.stop();

    const idle = await show();
    expect(idle.groups[0]).toMatchObject({ members: 0, totalLag: 0 });
    expect(idle.groups[0]!.partitions.map((p) => [p.partition, p.committed, p.lag])).toEqual([
      [0, '5', 0],
      [1, '5', 0],
    ]);

    const reset = await resetTo('earliest');
    expect(reset.code).toBe(0);
    expect(reset.out).toContain(`moved ${group} ${topic}[0]: 5 -> 0`);
    expect((await show()).groups[0]!.totalLag).toBe(10);

    const dryRun = await resetTo('latest', '--partition', '1', '--dry-run');
    expect(dryRun.out.trim()).toBe(`would move ${group} ${topic}[1]: 0 -> 5`);
    expect((await show()).groups[0]!.totalLag).toBe(10);

    await resetTo('latest', '--partition', '1');
    expect((await show()).groups[0]!.partitions.map((p) => p.lag)).toEqual([5, 0]);

    // Every record was written just now: a day ago is before all of them, the far future after.
    await resetTo('P1D');
    expect((await show()).groups[0]!.totalLag).toBe(10);
    await resetTo('2999-01-01T00:00:00Z');
    expect((await show()).groups[0]!.totalLag).toBe(0);
  });

  it('needs --group, --topic and --to (exit 2)', async () => {
    const { code, err } = await granary(['offsets', 'reset', '--group', 'g']);
    expect(code).toBe(2);
    expect(err).toContain('needs --group, --topic and --to');
  });
});
