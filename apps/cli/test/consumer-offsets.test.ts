import { describe, expect, it } from 'vitest';
import { renderGroupLag } from '../src/consumer-offsets.ts';

describe('consumer lag', () => {
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
