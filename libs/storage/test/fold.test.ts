import { describe, expect, it } from 'vitest';
import { type Segment, foldSegments } from '../index.ts';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

const columns = (points: ReadonlyArray<readonly [number, number]>) => ({
  timestamps: Float64Array.from(points, ([t]) => t),
  values: Float64Array.from(points, ([, v]) => v),
});

function segment(
  seq: number,
  metrics: Record<string, { raw: Array<[number, number]>; mean?: Array<[number, number]> }>,
): Segment {
  return {
    topic: 't',
    partition: 0,
    seq,
    generation: 1,
    firstOffset: seq * 10,
    lastOffset: seq * 10 + 9,
    createdAtUs: 0,
    metrics: Object.entries(metrics).map(([metricId, { raw, mean }]) => ({
      metricId,
      raw: columns(raw),
      aggregates: mean ? [{ method: 'mean', granularityUs: 60e6, ...columns(mean) }] : [],
    })),
  };
}

const pairs = ({ timestamps, values }: { timestamps: ArrayLike<number>; values: ArrayLike<number> }) =>
  Array.from(timestamps, (t, i) => [t, values[i]]);

describe('foldSegments', () => {
  const chain = [
    segment(1, {
      [A]: {
        raw: [
          [1, 10],
          [2, 20],
        ],
        mean: [[0, 15]],
      },
      [B]: { raw: [[5, 1]] },
    }),
    segment(2, {
      [A]: {
        raw: [
          [2, 21],
          [3, 30],
        ],
        mean: [
          [0, 20],
          [60e6, 30],
        ],
      },
    }),
    segment(3, { [B]: { raw: [[6, 2]] } }),
  ];

  it('merges each metric across segments, the later segment winning on equal timestamps', () => {
    const folded = foldSegments(chain);
    const a = folded.get(A)!;
    expect(pairs(a.raw)).toEqual([
      [1, 10],
      [2, 21],
      [3, 30],
    ]);
    expect(pairs(a.aggregates.get('mean@60000000')!.points)).toEqual([
      [0, 20],
      [60e6, 30],
    ]);
    expect(a.replaces).toBe(false);
    expect(pairs(folded.get(B)!.raw)).toEqual([
      [5, 1],
      [6, 2],
    ]);
  });

  it('starts a reset metric over at its reset segment and marks it as replacing what is stored', () => {
    const folded = foldSegments(chain, [{ metricId: A, seq: 2 }]);
    const a = folded.get(A)!;
    expect(pairs(a.raw)).toEqual([
      [2, 21],
      [3, 30],
    ]);
    expect(pairs(a.aggregates.get('mean@60000000')!.points)).toEqual([
      [0, 20],
      [60e6, 30],
    ]);
    expect(a.replaces).toBe(true);
    expect(folded.get(B)!.replaces).toBe(false);
  });

  it('drops a reset metric entirely when its reset segment is not in the folded run', () => {
    const folded = foldSegments(chain.slice(0, 1), [{ metricId: A, seq: 2 }]);
    expect(folded.has(A)).toBe(false);
    expect(folded.has(B)).toBe(true);
  });
});
