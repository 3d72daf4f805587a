import { describe, expect, it } from 'vitest';
import { consumerGroupLag, consumerGroupLags } from '../index.ts';

describe('consumerGroupLag', () => {
  it('sums end minus committed over partitions, counting an uncommitted partition from 0', async () => {
    const admin = {
      endOffsets: async (topic: string) => [
        { topic, partition: 0, offset: '10' },
        { topic, partition: 1, offset: '4' },
        { topic, partition: 2, offset: '7' },
      ],
      committedOffsets: async (_group: string, topic: string) => [
        { topic, partition: 0, offset: '8' },
        { topic, partition: 1, offset: '-1' },
        { topic, partition: 2, offset: '7' },
      ],
    };
    expect(await consumerGroupLag(admin, 'granary-ingest', 'granary.samples')).toEqual({
      groupId: 'granary-ingest',
      topic: 'granary.samples',
      lag: 2 + 4,
    });
  });

  it('leaves out a group whose topic does not exist, without asking for its offsets', async () => {
    const asked: string[] = [];
    const admin = {
      describeTopics: async (names: readonly string[]) =>
        new Map(names.filter((n) => n === 'granary.measures').map((n) => [n, {} as never])),
      endOffsets: async (topic: string) => {
        asked.push(topic);
        return [{ topic, partition: 0, offset: '5' }];
      },
      committedOffsets: async (_group: string, topic: string) => [{ topic, partition: 0, offset: '3' }],
    };
    expect(
      await consumerGroupLags(admin, [
        { groupId: 'granary-processors', topic: 'granary.measures' },
        { groupId: 'granary-ingest', topic: 'granary.samples' },
      ]),
    ).toEqual([{ groupId: 'granary-processors', topic: 'granary.measures', lag: 2 }]);
    expect(asked).toEqual(['granary.measures']);
  });
});
