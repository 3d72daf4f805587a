import { describe, expect, it } from 'vitest';
import { renderMeasures, renderResources } from '../src/commands/lookups.ts';
import { textTable } from '../src/output.ts';

describe('textTable', () => {
  it('pads every column to its widest cell and trims line ends', () => {
    expect(
      textTable([
        ['a', 'bb', 'c'],
        ['long', 'x', ''],
      ]),
    ).toEqual(['a     bb  c', 'long  x']);
  });
  it('prints nothing for no rows', () => {
    expect(textTable([])).toEqual([]);
  });
});

describe('lookup tables', () => {
  it('shows missing values as -', () => {
    expect(renderMeasures([['2026-01-01T00:00:00+00:00', 60, null]])).toBe(
      'timestamp                  granularity  value\n2026-01-01T00:00:00+00:00  60           -',
    );
    expect(
      renderResources([
        { id: 'r', type: 'generic', original_resource_id: null, started_at: null, metrics: {} },
      ]),
    ).toBe('id  type     original id  started  metrics\nr   generic  -            -        -');
  });
});
