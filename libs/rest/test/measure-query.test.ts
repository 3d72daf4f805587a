import { describe, expect, it } from 'vitest';
import { MAX_QUERY_NODES, MEASURE_QUERY_OPERATORS, compileMeasureQuery } from '../src/measure-query.ts';

const VALUES = [-3, -0.5, 0, 1, 2, 5, 12, 12.5, 1000];
const matching = (query: unknown) => VALUES.filter(compileMeasureQuery(query).matches);

const refusal = (query: unknown) => {
  try {
    compileMeasureQuery(query);
  } catch (err) {
    const { status, details } = err as { status: number; details: { description: { reason: string } } };
    return { status, reason: details.description.reason };
  }
  throw new Error('compiled');
};

describe('the measure query of POST /v1/search/metric (Gnocchi MeasureQuery)', () => {
  it.each([
    [{ '=': 12 }, [12]],
    [{ '==': 12 }, [12]],
    [{ eq: 12 }, [12]],
    [{ '!=': 12 }, [-3, -0.5, 0, 1, 2, 5, 12.5, 1000]],
    [{ '≠': 0 }, [-3, -0.5, 1, 2, 5, 12, 12.5, 1000]],
    [{ '<': 1 }, [-3, -0.5, 0]],
    [{ lt: 1 }, [-3, -0.5, 0]],
    [{ '≤': 1 }, [-3, -0.5, 0, 1]],
    [{ '>': 12 }, [12.5, 1000]],
    [{ '≥': 12 }, [12, 12.5, 1000]],
    [{ ge: 1000 }, [1000]],
  ])('compares the value: %j', (query, expected) => {
    expect(matching(query)).toEqual(expected);
  });

  it("accepts Gnocchi's 31 operator spellings, each meaning what its canonical name does", () => {
    // Gnocchi 4.7.1's rest/api.py, MeasureQuery's schema, in its order.
    const spellings = [
      ['=', '==', 'eq'],
      ['<', 'lt'],
      ['>', 'gt'],
      ['<=', '≤', 'le'],
      ['>=', '≥', 'ge'],
      ['!=', '≠', 'ne'],
      ['%', 'mod'],
      ['+', 'add'],
      ['-', 'sub'],
      ['*', '×', 'mul'],
      ['/', '÷', 'div'],
      ['**', '^', 'pow'],
    ];
    expect(MEASURE_QUERY_OPERATORS.filter((op) => !['and', '∧', 'or', '∨'].includes(op))).toEqual(
      spellings.flat(),
    );
    // Every value gives the same result by the spelling and by the name (`eq` is checked above).
    for (const group of spellings) {
      const canonical = group.at(-1)!;
      for (const spelling of group) {
        expect(matching({ eq: [{ [spelling]: 2 }, { [canonical]: 2 }] }), spelling).toEqual(VALUES);
      }
    }
  });

  it('keeps a value whose arithmetic result is not zero, as Python tests truth', () => {
    // value + 3 is 0 only for -3; value % 2 is 0 for the even ones.
    expect(matching({ '+': 3 })).toEqual(VALUES.filter((v) => v !== -3));
    expect(matching({ '%': 2 })).toEqual([-3, -0.5, 1, 5, 12.5]);
    expect(matching({ '*': 0 })).toEqual([]);
  });

  it('takes the sign of the divisor for modulo, as Python', () => {
    // -3 % 2 is 1 in Python (-1 in JavaScript); so is -3 % 2 == 1.
    expect(matching({ '=': [{ mod: 2 }, 1] })).toEqual([-3, 1, 5]);
  });

  it('evaluates nested operands: (value × 2) - 1 ≥ 23 and (value ** 2) < 1', () => {
    expect(matching({ '≥': [{ '-': [{ '×': 2 }, 1] }, 23] })).toEqual([12, 12.5, 1000]);
    expect(matching({ '<': [{ '**': 2 }, 1] })).toEqual([-0.5, 0]);
    expect(matching({ '>': [{ '÷': 2 }, { '^': 0.5 }] })).toEqual([5, 12, 12.5, 1000]);
  });

  it('combines with and / or (and their symbols as Gnocchi evaluates them)', () => {
    expect(matching({ and: [{ '>=': 1 }, { '<': 12 }] })).toEqual([1, 2, 5]);
    expect(matching({ '∧': [{ '>=': 1 }, { '<': 12 }] })).toEqual([1, 2, 5]);
    expect(matching({ or: [{ '=': 0 }, { '>': 12 }] })).toEqual([0, 12.5, 1000]);
    expect(matching({ '∨': [{ '=': 0 }, { '>': 12 }] })).toEqual([0, 12.5, 1000]);
    expect(matching({ and: [{ or: [{ '=': 1 }, { '=': 2 }] }, { '!=': 2 }] })).toEqual([1]);
    // Python's all([]) and any([]).
    expect(matching({ and: [] })).toEqual(VALUES);
    expect(matching({ or: [] })).toEqual([]);
  });

  it('takes booleans as numbers, as Python does', () => {
    expect(matching({ '=': true })).toEqual([1]);
  });

  it('divides by zero as numpy does on the float64 values Gnocchi searches (±inf, NaN for 0 / 0)', () => {
    expect(matching({ '>': [{ '/': 0 }, 1e300] })).toEqual([1, 2, 5, 12, 12.5, 1000]);
  });

  it.each([
    [{ not: [{ '=': 1 }] }, 'Unknown operator not'],
    [{ '~': 1 }, 'Invalid operation: {"~":1}'],
    [{ '=': 1, '<': 2 }, 'Invalid operation: {"=":1,"<":2}'],
    [{}, 'Invalid operation: {}'],
    [12, 'Invalid operation: 12'],
    [[{ '=': 1 }], 'Invalid operation: [{"=":1}]'],
    [{ '=': [1, 2, 3] }, 'Binary operator = needs a number or 2 arguments'],
    [{ '=': 'twelve' }, 'Binary operator = needs a number or 2 arguments'],
    [{ '=': [{ and: [] }, 1] }, 'Invalid operation: {"and":[]}'],
    [{ and: { '=': 1 } }, 'and needs a list of queries'],
    [JSON.parse('{"__proto__": 1}'), 'Invalid operation: {"__proto__":1}'],
    [{ constructor: 1 }, 'Invalid operation: {"constructor":1}'],
  ])('refuses %j with a 400', (query, reason) => {
    expect(refusal(query)).toEqual({ status: 400, reason });
  });

  it(`refuses more than ${MAX_QUERY_NODES} nodes`, () => {
    const wide = { or: Array.from({ length: MAX_QUERY_NODES }, (_, i) => ({ '=': i })) };
    expect(refusal(wide)).toEqual({ status: 400, reason: `Query has more than ${MAX_QUERY_NODES} nodes` });
    expect(compileMeasureQuery({ or: wide.or.slice(1) }).nodes).toBe(MAX_QUERY_NODES);
    expect(compileMeasureQuery({ '=': [{ '+': 1 }, 3] }).nodes).toBe(3);
  });
});
