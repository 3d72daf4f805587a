import { describe, expect, it } from 'vitest';
import { aggregatesSeries, alignSeries, cellText, formatValue, partitionRows } from '../assets/format.js';

describe('alignSeries', () => {
  it('aligns series on the union of their timestamps, null where a series has no point', () => {
    const a: [string, number, number][] = [
      ['2026-01-01T00:00:00+00:00', 60, 1],
      ['2026-01-01T00:01:00+00:00', 60, 2],
    ];
    const b: [string, number, number][] = [
      ['2026-01-01T00:01:00+00:00', 60, 20],
      ['2026-01-01T00:02:00+00:00', 60, 30],
    ];
    const t0 = Date.UTC(2026, 0, 1) / 1000;
    expect(alignSeries([a, b])).toEqual([
      [t0, t0 + 60, t0 + 120],
      [1, 2, null],
      [null, 20, 30],
    ]);
  });

  it('keeps a null value of the API as a gap', () => {
    expect(alignSeries([[['1970-01-01T00:00:10Z', 1, null]]])).toEqual([[10], [null]]);
  });
});

describe('aggregatesSeries', () => {
  it('labels each series of a nested answer by its path', () => {
    const points = [['2026-01-01T00:00:00+00:00', 60, 1]];
    expect(
      aggregatesSeries({
        measures: { 'host-1': { cpu: { mean: points } }, 'host-2': { cpu: { mean: [] } } },
      }),
    ).toEqual([
      { label: 'host-1 / cpu / mean', measures: points },
      { label: 'host-2 / cpu / mean', measures: [] },
    ]);
    expect(aggregatesSeries({ measures: { aggregated: points } })).toEqual([
      { label: 'aggregated', measures: points },
    ]);
  });
});

describe('partitionRows', () => {
  it('joins owners, lags and checkpoints by partition, in partition order', () => {
    const status = {
      storage: { measures_to_process: { '1': 5 } },
      metricd: {
        statistics: {
          checkpoint_offsets: { '0': 12, '1': null, '10': 3 },
          partition_owners: { '0': 'p-a', '1': null, '10': 'p-b' },
        },
      },
    };
    expect(partitionRows(status)).toEqual([
      { partition: 0, owner: 'p-a', lag: 0, checkpoint: '12' },
      { partition: 1, owner: '—', lag: 5, checkpoint: '—' },
      { partition: 10, owner: 'p-b', lag: 0, checkpoint: '3' },
    ]);
  });
});

describe('cell and value text', () => {
  it('shows strings as they are and other values as JSON', () => {
    expect(cellText('<b>x</b>')).toBe('<b>x</b>');
    expect(cellText({ a: 1 })).toBe('{"a":1}');
    expect(cellText(null)).toBe('—');
  });
  it('rounds non-integers to 6 significant digits', () => {
    expect(formatValue(1 / 3)).toBe('0.333333');
    expect(formatValue(42)).toBe('42');
    expect(formatValue(null)).toBe('—');
  });
});
