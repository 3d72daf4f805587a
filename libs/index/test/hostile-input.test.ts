import { describe, expect, it } from 'vitest';
import { fnmatch, indexError, parseResourceFilter, parseTimestamp } from '../index.ts';
import { SqlParams, compileFilter, sortExpression } from '../src/filter/compile.ts';
import { MAX_SORT_KEYS, resolveSort } from '../src/pagination.ts';

/** Names that find something on every plain object's prototype. */
const HOSTILE_NAMES = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'];
const type = { name: 'generic', state: 'active' as const, attributes: {} };
const context = () => ({ type, alias: 'r', creator: null, params: new SqlParams() });

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (indexError.is(err)) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('prototype property names from the request', () => {
  for (const name of HOSTILE_NAMES) {
    it(`${name} as an operator, an attribute or a sort key is a coded refusal`, () => {
      // Built with defineProperty so that `__proto__` is an own key, as JSON.parse makes it.
      const keyed = (key: string, value: unknown) =>
        Object.defineProperty({}, key, { value, enumerable: true, configurable: true, writable: true });
      expect(codeOf(() => parseResourceFilter(keyed(name, { id: 'x' })))).toBe('INDEX_INVALID_FILTER');
      expect(codeOf(() => parseResourceFilter(keyed(name, [{ '=': { id: 'x' } }])))).toBe(
        'INDEX_INVALID_FILTER',
      );
      const filter = parseResourceFilter({ '=': keyed(name, 'x') })!;
      expect(codeOf(() => compileFilter(filter, context()))).toBe('INDEX_INVALID_FILTER');
      expect(sortExpression(context(), name)).toBeUndefined();
      expect(codeOf(() => resolveSort([name], [], (key) => sortExpression(context(), key), ['id']))).toBe(
        'INDEX_INVALID_PAGINATION',
      );
      expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('id');
    });
  }
});

describe('sort keys', () => {
  const sortable = (key: string) => sortExpression(context(), key);

  it('drops repeated keys, so the marker condition does not grow with them', () => {
    const keys = resolveSort(Array(5000).fill('id:desc'), [], sortable, ['id']);
    expect(keys.map((k) => [k.key, k.direction])).toEqual([['id', 'desc']]);
  });

  it("refuses an unknown key with Gnocchi's InvalidPagination text", () => {
    expect(() => resolveSort(['unit'], [], sortable, ['id'])).toThrow(
      "Invalid pagination: `Sort key supplied is invalid: unit'",
    );
  });

  it('refuses more distinct keys than the cap', () => {
    const many = Array.from({ length: MAX_SORT_KEYS + 1 }, (_, i) => `k${i}`);
    expect(codeOf(() => resolveSort(many, [], sortable, ['id']))).toBe('INDEX_INVALID_PAGINATION');
  });
});

describe('lifespan filters', () => {
  it('refuses a timespan beyond what a PostgreSQL interval holds', () => {
    for (const value of ['99999999999999999 weeks', 1e300]) {
      const filter = parseResourceFilter({ '>': { lifespan: value } })!;
      expect(codeOf(() => compileFilter(filter, context()))).toBe('INDEX_INVALID_FILTER');
    }
    expect(compileFilter(parseResourceFilter({ '>': { lifespan: '1 hour' } })!, context())).toContain(
      'interval',
    );
  });
});

describe('glob matching (metric name patterns)', () => {
  it('answers a backtracking pattern at once', () => {
    // A backtracking regex takes exponential time on this; the matcher is O(name × pattern).
    expect(fnmatch('a'.repeat(200), `${'*a'.repeat(100)}*b`)).toBe(false);
    expect(fnmatch(`${'a'.repeat(200)}b`, `${'*a'.repeat(100)}*b`)).toBe(true);
  });

  it('matches a reversed range like nothing, and keeps fnmatch semantics', () => {
    expect(fnmatch('m', '[z-a]')).toBe(false);
    expect(fnmatch('a', '[z-a]')).toBe(false);
    expect(fnmatch('m', '[!z-a]')).toBe(true);
    expect(fnmatch('b', '[a-c]')).toBe(true);
    expect(fnmatch('-', '[a-]')).toBe(true);
    expect(fnmatch(']', '[]]')).toBe(true);
    expect(fnmatch('cpu.util', 'cpu.*')).toBe(true);
    expect(fnmatch('cpu.util', 'c?u.u*l')).toBe(true);
    expect(fnmatch('cpu.util', '*.*.*')).toBe(false);
    expect(fnmatch('☃x', '?x')).toBe(true);
  });
});

describe('years 0001-0099', () => {
  it('are those years (before what epoch µs hold exactly), not 1900-1999', () => {
    expect(parseTimestamp('0050-01-01T00:00:00Z')).toBeUndefined();
    expect(parseTimestamp('1950-01-01T00:00:00Z')).toBe(Date.UTC(1950, 0, 1) * 1000);
  });
});
