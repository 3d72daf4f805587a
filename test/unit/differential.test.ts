import { describe, expect, it } from 'vitest';
import { firstDifference, firstTextDifference } from '../differential/compare.ts';
import { compareCase } from '../differential/harness.ts';
import { generateCase } from '../differential/workload.ts';

describe('the differential test against Gnocchi', () => {
  it('generates the same case from the same seed, and another from another', () => {
    expect(generateCase(7)).toEqual(generateCase(7));
    expect(JSON.stringify(generateCase(8))).not.toEqual(JSON.stringify(generateCase(7)));
  });

  it('compares numbers within 1e-9 relative, everything else exactly', () => {
    expect(
      firstDifference(
        [['2026-03-01T00:00:00+00:00', 60, 0.1 + 0.2]],
        [['2026-03-01T00:00:00+00:00', 60, 0.3]],
      ),
    ).toBeUndefined();
    expect(firstDifference([[1, 5]], [[1, 5.00001]])).toBe('$[0][1]: 5 ≠ 5.00001');
    expect(firstDifference([['2026-03-01T00:00:00+00:00']], [['2026-03-01T00:00:01+00:00']])).toMatch(
      /^\$\[0\]\[0\]/,
    );
    expect(firstDifference([1, 2], [1])).toMatch(/2 items ≠ 1 items/);
    expect(firstDifference({ a: 1 }, { a: 1, b: 2 })).toBe("$.b: missing in the oracle's answer");
  });

  it("reports status and body differences, and sets Gnocchi's own failures apart", () => {
    const exchange = (status: number, body: unknown) => ({
      request: 'GET /x',
      status,
      body,
      text: JSON.stringify(body),
    });
    expect(compareCase(1, [exchange(200, [1])], [exchange(200, [1])])).toEqual([]);
    expect(compareCase(1, [exchange(400, 'a')], [exchange(400, 'b')])).toEqual([]);
    expect(compareCase(1, [exchange(200, [1])], [exchange(200, [2])])).toEqual([
      { seed: 1, request: 'GET /x', detail: '$[0]: 1 ≠ 2', explanation: undefined },
    ]);
    expect(compareCase(1, [exchange(500, '')], [exchange(400, 'no')])[0]?.explanation).toBe('gnocchi-error');
    // Granary never answers 5xx, whatever Gnocchi does.
    expect(compareCase(1, [exchange(500, '')], [exchange(500, '')])).toEqual([
      { seed: 1, request: 'GET /x', detail: 'Granary 500: ', explanation: undefined },
    ]);
  });

  it("compares measures bodies as written: Python's float digits, separators and key order", () => {
    const gnocchi = '[["2026-03-01T00:00:00+00:00", 60.0, 0.30000000000000004], ["x1", 1.0, 1e-05]]';
    expect(firstTextDifference(gnocchi, gnocchi)).toBeUndefined();
    // Another value within the tolerance (sums in another order) is not a text difference.
    expect(
      firstTextDifference(gnocchi, '[["2026-03-01T00:00:00+00:00", 60.0, 0.3], ["x1", 1.0, 1e-05]]'),
    ).toBeUndefined();
    expect(
      firstTextDifference(
        gnocchi,
        '[["2026-03-01T00:00:00+00:00", 60, 0.30000000000000004], ["x1", 1.0, 1e-05]]',
      ),
    ).toBe('number 0: 60.0 written 60');
    expect(
      firstTextDifference(
        gnocchi,
        '[["2026-03-01T00:00:00+00:00", 60.0, 0.30000000000000004], ["x1", 1.0, 1e-5]]',
      ),
    ).toBe('number 3: 1e-05 written 1e-5');
    expect(firstTextDifference('{"a": 1, "b": 2}', '{"b": 2, "a": 1}')).toMatch(/^text at 2/);
    const read = (text: string) => ({
      request: 'POST /v1/aggregates',
      status: 200,
      body: JSON.parse(text),
      text,
    });
    expect(compareCase(1, [read('[60.0]')], [read('[60]')])).toEqual([
      { seed: 1, request: 'POST /v1/aggregates', detail: 'number 0: 60.0 written 60' },
    ]);
  });
});
