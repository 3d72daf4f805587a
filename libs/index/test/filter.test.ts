import { describe, expect, it } from 'vitest';
import { FILTER_LIMITS, indexError, parseResourceFilter } from '../index.ts';
import { SqlParams, compileFilter } from '../src/filter/compile.ts';

/** The error a parse raises, for asserting on its code and Gnocchi description. */
function parseError(input: unknown) {
  try {
    parseResourceFilter(input);
  } catch (err) {
    if (indexError.is(err))
      return { code: err.code, status: err.status, description: err.details?.description };
    throw err;
  }
  throw new Error('expected the filter to be refused');
}

describe('JSON filter form', () => {
  it('treats the empty filter as "everything"', () => {
    expect(parseResourceFilter({})).toBeNull();
  });

  it('normalises operator spellings into one AST', () => {
    expect(
      parseResourceFilter({ and: [{ '≥': { started_at: '2010-01-01' } }, { ne: { project_id: null } }] }),
    ).toEqual({
      kind: 'and',
      operands: [
        { kind: 'compare', operator: 'ge', attribute: 'started_at', value: '2010-01-01' },
        { kind: 'compare', operator: 'ne', attribute: 'project_id', value: null },
      ],
    });
    expect(parseResourceFilter({ '∨': [{ not: { like: { host: 'a%' } } }, { in: { id: ['x'] } }] })).toEqual({
      kind: 'or',
      operands: [
        { kind: 'not', operand: { kind: 'compare', operator: 'like', attribute: 'host', value: 'a%' } },
        { kind: 'in', attribute: 'id', values: ['x'] },
      ],
    });
  });

  it("reproduces Gnocchi's validation messages (search.yaml, resource.yaml)", () => {
    expect(parseError({ and: { project_id: 'foobar' } })).toEqual({
      code: 'INDEX_INVALID_FILTER',
      status: 400,
      description: {
        cause: 'Invalid input',
        reason: "expected a list for dictionary value @ data['and']",
        detail: ['and'],
      },
    });
    expect(parseError({ like: { id: 'fa%' } }).description).toEqual({
      cause: 'Invalid input',
      reason: "value must not be one of ['id'] @ data['like']['id']",
      detail: ['like', 'id'],
    });
    expect(parseError({ ne: { project_id: ['foobar'] } }).description).toMatchObject({
      reason: "expected str for dictionary value @ data['ne']['project_id']",
      detail: ['ne', 'project_id'],
    });
    expect(parseError({ not: [{ project_id: 'foobar' }] }).description).toMatchObject({
      reason: "expected a dictionary for dictionary value @ data['not']",
      detail: ['not'],
    });
    expect(parseError({ in: { id: [] } }).description).toMatchObject({
      reason: expect.stringMatching(/^length of value must be at least 1/),
    });
    for (const empty of [
      { in: {} },
      { in: { and: [] } },
      { and: [] },
      { and: [{ in: { id: [] } }, { started_at: '' }] },
    ]) {
      expect(parseError(empty).code).toBe('INDEX_INVALID_FILTER');
    }
    expect(parseError({ foo: { id: 'x' } }).description).toMatchObject({
      reason: "extra keys not allowed @ data['foo']",
    });
    expect(parseError({ '=': { id: 'a' }, '<': { id: 'b' } }).description).toMatchObject({
      reason: 'length of value must be at most 1',
    });
  });

  it('refuses non-scalar, non-finite and NUL-carrying values', () => {
    expect(parseError({ '=': { host: { nested: 1 } } }).code).toBe('INDEX_INVALID_FILTER');
    expect(parseError({ '=': { host: Number.POSITIVE_INFINITY } }).code).toBe('INDEX_INVALID_FILTER');
    expect(parseError({ '=': { host: 'a\0b' } }).code).toBe('INDEX_INVALID_FILTER');
    expect(parseError({ '=': { id: 3 } }).code).toBe('INDEX_INVALID_FILTER');
    expect(parseError(['=', 1]).description).toMatchObject({ reason: 'expected a dictionary' });
  });

  it('refuses filters nested too deeply or too large, without recursing into them', () => {
    let deep: unknown = { '=': { host: 'x' } };
    for (let i = 0; i < 100_000; i++) deep = { not: deep };
    expect(parseError(deep).description).toMatch(/nested deeper than/);
    const wide = {
      or: Array.from({ length: FILTER_LIMITS.maxNodes + 1 }, (_, i) => ({ '=': { host: `h${i}` } })),
    };
    expect(parseError(wide).description).toMatch(/more than \d+ terms/);
    const longList = { in: { host: Array.from({ length: FILTER_LIMITS.maxNodes + 1 }, (_, i) => `h${i}`) } };
    expect(parseError(longList).code).toBe('INDEX_INVALID_FILTER');
  });
});

describe('query-string filter form', () => {
  it('parses the issue example into the same AST as its JSON form', () => {
    expect(parseResourceFilter('host like "compute%" and started_at >= "2010-01-01"')).toEqual(
      parseResourceFilter({ and: [{ like: { host: 'compute%' } }, { '>=': { started_at: '2010-01-01' } }] }),
    );
  });

  it('handles in-lists of bare UUIDs, not, null/booleans/numbers and single quotes', () => {
    expect(
      parseResourceFilter(
        'not id in [faef212f-0bf4-4030-a461-2186fef79be0, df7e5e75-6a1d-4ff7-85cb-38eb9d75da7e]',
      ),
    ).toEqual({
      kind: 'not',
      operand: {
        kind: 'in',
        attribute: 'id',
        values: ['faef212f-0bf4-4030-a461-2186fef79be0', 'df7e5e75-6a1d-4ff7-85cb-38eb9d75da7e'],
      },
    });
    expect(parseResourceFilter("ended_at = null or (flag eq true and n lt -1.5e3) ∨ name = 'it\"s'")).toEqual(
      {
        kind: 'or',
        operands: [
          { kind: 'compare', operator: 'eq', attribute: 'ended_at', value: null },
          {
            kind: 'and',
            operands: [
              { kind: 'compare', operator: 'eq', attribute: 'flag', value: true },
              { kind: 'compare', operator: 'lt', attribute: 'n', value: -1500 },
            ],
          },
          { kind: 'compare', operator: 'eq', attribute: 'name', value: 'it"s' },
        ],
      },
    );
    expect(parseResourceFilter('lifespan ≥ "30 min"')).toEqual({
      kind: 'compare',
      operator: 'ge',
      attribute: 'lifespan',
      value: '30 min',
    });
  });

  it('binds not tighter than and, and and tighter than or', () => {
    expect(parseResourceFilter('a = 1 or not b = 2 and c = 3')).toEqual({
      kind: 'or',
      operands: [
        { kind: 'compare', operator: 'eq', attribute: 'a', value: 1 },
        {
          kind: 'and',
          operands: [
            { kind: 'not', operand: { kind: 'compare', operator: 'eq', attribute: 'b', value: 2 } },
            { kind: 'compare', operator: 'eq', attribute: 'c', value: 3 },
          ],
        },
      ],
    });
  });

  it('reports syntax errors as "Invalid filter: Expected …" (search.yaml)', () => {
    expect(parseError('id == foobar').description).toMatch(/^Invalid filter: Expected/);
    for (const bad of [
      'host = "unterminated',
      'host = "x"; DROP TABLE resource; --',
      "host = 'x' OR 1=1 --",
      '= 3',
      'host like',
      '(host = "a"',
      'host = [1, [2]]',
      'hôst = 1',
      'host = 1 and',
      '',
    ]) {
      expect(parseError(bad).code, bad).toBe('INDEX_INVALID_FILTER');
    }
    expect(parseError('id in []').description).toMatchObject({ reason: expect.stringMatching(/at least 1/) });
  });

  it('keeps quotes, semicolons and unicode inside values as plain data', () => {
    expect(parseResourceFilter(`host = "'; DROP TABLE resource; --☃"`)).toEqual({
      kind: 'compare',
      operator: 'eq',
      attribute: 'host',
      value: "'; DROP TABLE resource; --☃",
    });
  });

  it('bounds nesting depth and text length', () => {
    expect(parseError(`${'('.repeat(10_000)}a = 1${')'.repeat(10_000)}`).description).toMatch(
      /nested deeper/,
    );
    expect(parseError(`${'not '.repeat(10_000)}a = 1`).description).toMatch(/nested deeper/);
    expect(parseError(`a = "${'x'.repeat(FILTER_LIMITS.maxTextLength)}"`).description).toMatch(/longer than/);
  });

  it('turns huge numbers into finite doubles or refuses them', () => {
    expect(parseResourceFilter('n = 123456789012345678901234567890')).toMatchObject({
      value: 1.2345678901234568e29,
    });
    expect(parseError('n = 1e999').code).toBe('INDEX_INVALID_FILTER');
  });
});

describe('compiled SQL', () => {
  it('carries filter values and attribute names only as bind parameters', () => {
    const hostile = ["'; DROP TABLE resource; --", '$$;--', '\\', '☃"', '1e308'];
    const type = {
      name: 'instance',
      state: 'active' as const,
      attributes: {
        "we'ird-name": { type: 'string' as const, required: false, min_length: 0, max_length: 255 },
      },
    };
    const filter = parseResourceFilter({
      or: [
        ...hostile.map((v) => ({ like: { "we'ird-name": v } })),
        ...hostile.map((v) => ({ '=': { user_id: v } })),
        { in: { project_id: hostile } },
        { '=': { "we'ird-name": hostile[0] } },
      ],
    })!;
    const params = new SqlParams();
    const sql = compileFilter(filter, { type, alias: 'r', creator: null, params });
    for (const value of [...hostile, "we'ird-name", 'DROP']) expect(sql).not.toContain(value);
    expect(params.values).toContain(hostile[0]);
    expect(params.values).toContain("we'ird-name");
  });
});
