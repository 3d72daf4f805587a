import { describe, expect, it } from 'vitest';
import { consumerGroupLag, consumerGroupLags, lagAfter, partitionLags, recordsBehind } from '../index.ts';

describe('recordsBehind', () => {
  it('counts from the next offset to the end, from the log start when nothing is committed', () => {
    expect(recordsBehind({ low: '0', high: '120' }, '100')).toBe(20);
    expect(recordsBehind({ low: '40', high: '90' }, '-1')).toBe(50);
    expect(recordsBehind({ low: '40', high: '90' })).toBe(50);
    expect(recordsBehind({ low: '0', high: '0' })).toBe(0);
  });

  it('is never negative (a commit past the end after the topic was recreated)', () => {
    expect(recordsBehind({ low: '0', high: '3' }, '7')).toBe(0);
  });
});

describe('lagAfter', () => {
  it('is what is left behind the end of the partition once the batch is handled', () => {
    const record = (offset: string) => ({ offset }) as never;
    expect(
      lagAfter({ topic: 't', partition: 0, records: [record('10'), record('11')], highWatermark: '15' }),
    ).toBe(3);
    expect(lagAfter({ topic: 't', partition: 0, records: [record('14')], highWatermark: '15' })).toBe(0);
    expect(lagAfter({ topic: 't', partition: 0, records: [], highWatermark: '15' })).toBe(0);
  });
});

describe('partitionLags', () => {
  it("lists every partition of the topic with the group's position, ignoring other topics' offsets", () => {
    const bounds = [
      { partition: 0, low: '0', high: '120' },
      { partition: 1, low: '40', high: '90' },
      { partition: 2, low: '0', high: '0' },
    ];
    const committed = [
      { topic: 'granary.measures', partition: 0, offset: '100' },
      { topic: 'granary.measures', partition: 1, offset: '-1' },
      { topic: 'granary.samples', partition: 2, offset: '5' },
    ];
    expect(partitionLags('granary.measures', bounds, committed)).toEqual([
      { topic: 'granary.measures', partition: 0, committed: '100', end: '120', lag: 20 },
      { topic: 'granary.measures', partition: 1, committed: null, end: '90', lag: 50 },
      { topic: 'granary.measures', partition: 2, committed: null, end: '0', lag: 0 },
    ]);
  });
});

describe('consumerGroupLag', () => {
  it('sums the partition lags, counting an uncommitted partition from its log start', async () => {
    const admin = {
      offsetBounds: async () => [
        { partition: 0, low: '0', high: '10' },
        { partition: 1, low: '1', high: '4' },
        { partition: 2, low: '0', high: '7' },
      ],
      committedOffsets: async (_group: string, topic?: string) => [
        { topic: topic!, partition: 0, offset: '8' },
        { topic: topic!, partition: 1, offset: '-1' },
        { topic: topic!, partition: 2, offset: '7' },
      ],
    };
    expect(await consumerGroupLag(admin, 'granary-ingest', 'granary.samples')).toEqual({
      groupId: 'granary-ingest',
      topic: 'granary.samples',
      lag: 2 + 3,
    });
  });

  it('leaves out a group whose topic does not exist, without asking for its offsets', async () => {
    const asked: string[] = [];
    const admin = {
      existingTopics: async (names: readonly string[]) =>
        new Set(names.filter((n) => n === 'granary.measures')),
      offsetBounds: async (topic: string) => {
        asked.push(topic);
        return [{ partition: 0, low: '0', high: '5' }];
      },
      committedOffsets: async (_group: string, topic?: string) => [
        { topic: topic!, partition: 0, offset: '3' },
      ],
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
