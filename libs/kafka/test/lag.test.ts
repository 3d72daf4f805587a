import { describe, expect, it } from 'vitest';
import { consumerGroupLag } from '../index.ts';

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
});
