import { describe, expect, it } from 'vitest';
import { lagOf, renderGroupLag } from '../src/consumer-offsets.ts';

describe('consumer lag', () => {
  const bounds = new Map([
    [
      'granary.measures',
      [
        { partition: 0, low: '0', high: '120' },
        { partition: 1, low: '40', high: '90' },
        { partition: 2, low: '0', high: '0' },
      ],
    ],
  ]);

  it('is end minus committed, and counts from the log start where the group never committed', () => {
    const committed = [
      { topic: 'granary.measures', partition: 0, offset: '100' },
      { topic: 'granary.measures', partition: 1, offset: '-1' },
    ];
    expect(lagOf(committed, bounds)).toEqual([
      { topic: 'granary.measures', partition: 0, committed: '100', end: '120', lag: 20 },
      { topic: 'granary.measures', partition: 1, committed: null, end: '90', lag: 50 },
      { topic: 'granary.measures', partition: 2, committed: null, end: '0', lag: 0 },
    ]);
  });

  it('is never negative (a commit past the end after the topic was recreated)', () => {
    expect(lagOf([{ topic: 'granary.measures', partition: 2, offset: '7' }], bounds)[2]!.lag).toBe(0);
  });

  it('renders a table per group', () => {
    const text = renderGroupLag({
      groupId: 'granary-processors',
      state: 'Stable',
      members: 1,
      totalLag: 20,
      deletedTopics: ['granary.old'],
      partitions: [
        { topic: 'granary.measures', partition: 0, committed: '100', end: '120', lag: 20 },
        { topic: 'granary.measures', partition: 1, committed: null, end: '0', lag: 0 },
      ],
    });
    expect(text.split('\n')).toEqual([
      'group granary-processors (Stable, 1 member), total lag 20',
      '  topic             partition  committed  end  lag',
      '  granary.measures  0          100        120  20',
      '  granary.measures  1          -          0    0',
      '  granary.old: offsets of a deleted topic',
    ]);
  });
});
