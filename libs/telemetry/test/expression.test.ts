import { describe, expect, it } from 'vitest';
import { compileExpression, telemetryErrors } from '../index.ts';

const evaluate = (source: string, variables: Record<string, unknown> = {}) =>
  compileExpression(source).evaluate(variables);
/** Several expressions at once, as the items of one list. */
const evaluateEach = (sources: string) => evaluate(`[${sources}]`);

describe('expression language: what Ceilometer definitions write', () => {
  it('evaluates the dynamic pollster examples of the Ceilometer docs', () => {
    expect(evaluate("value.split('$')[0]", { value: 'alice$project' })).toBe('alice');
    const links = [
      { rel: 'self', href: 'http://a/1' },
      { rel: 'next', href: 'http://a/2' },
    ];
    expect(
      evaluate("filter(lambda v: v.get('rel') == 'next', value) | list(value)".split(' | ')[0]!, {
        value: links,
      }),
    ).toEqual([links[1]]);
    expect(
      evaluate(
        "list(filter(lambda v: v.get('rel') == 'next', value))[0].get('href').replace('http:', 'https:')",
        { value: links },
      ),
    ).toBe('https://a/2');
    expect(evaluate("value or { 'id': '' }", { value: null })).toEqual({ id: '' });
    expect(evaluate("value['id']", { value: { id: 'img' } })).toBe('img');
    expect(evaluate("','.join(value)", { value: ['a', 'b'] })).toBe('a,b');
    expect(evaluate(`'aws s3api list-objects --starting-token "' + value + '"'`, { value: 'T' })).toBe(
      'aws s3api list-objects --starting-token "T"',
    );
    expect(evaluate("'/v3/projects/' + str(sample['project_id'])", { sample: { project_id: 42 } })).toBe(
      '/v3/projects/42',
    );
  });

  it('evaluates SNMP type conversions and transformer scales', () => {
    expect(evaluate('(lambda x: float(str(x)))(value)', { value: '0.25' })).toBe(0.25);
    expect(evaluate('(lambda x: int(x) / 8)(value)', { value: 1000 })).toBe(125);
    expect(evaluate('(int)(value)', { value: '17' })).toBe(17);
    expect(
      evaluate('100.0 / (10**9 * (resource_metadata.cpu_number or 1))', {
        resource_metadata: { cpu_number: 4 },
      }),
    ).toBe(100 / 4e9);
    expect(evaluate('100.0 / (10**9 * (resource_metadata.cpu_number or 1))', { resource_metadata: {} })).toBe(
      1e-7,
    );
  });

  it('follows Python semantics for operators, comparisons, truthiness and builtins', () => {
    expect(evaluateEach('7 // 2, -7 // 2, -7 % 3, 2 ** 10, 7 / 2')).toEqual([3, -4, 2, 1024, 3.5]);
    expect(
      evaluateEach('1 < 2 < 3, 3 > 2 > 2, 1 == 1.0, [1, [2]] == [1, [2]], {"a": 1} == {"a": 1}'),
    ).toEqual([true, false, true, true, true]);
    expect(
      evaluateEach("'b' in 'abc', 2 not in [1, 3], 'k' in {'k': 0}, None is None, 1 is not None"),
    ).toEqual([true, true, true, true, true]);
    expect(evaluateEach("[] or 'x', 0 and 1, not '', 'yes' if 0 else 'no'")).toEqual(['x', 0, true, 'no']);
    expect(
      evaluateEach("len('héllo'), sorted([3, 1, 2]), max(1, 5, 3), min([4, 2]), sum([1, 2]), abs(-2)"),
    ).toEqual([5, [1, 2, 3], 5, 2, 3, 2]);
    expect(
      evaluateEach('round(2.5), round(3.5), round(0.125, 2), int(-2.7), int(" 12 "), float("1e3")'),
    ).toEqual([2, 4, 0.12, -2, 12, 1000]);
    expect(
      evaluateEach("'  a  b '.split(), 'a,b,c'.split(',', 1), ' x '.strip(), 'xxaxx'.strip('x')"),
    ).toEqual([['a', 'b'], ['a', 'b,c'], 'x', 'a']);
    expect(evaluateEach("'abcdef'[1:3], 'abcdef'[-2:], [1, 2, 3][:-1], 'abc'[-1]")).toEqual([
      'bc',
      'ef',
      [1, 2],
      'c',
    ]);
    expect(
      evaluateEach("str(1.5), str(None), str([1, 'a']), str(True), map(lambda x: x * 2, [1, 2])"),
    ).toEqual(['1.5', 'None', "[1, 'a']", 'True', [2, 4]]);
    expect(evaluate("[{'a': 1}.items(), {'a': 1}.keys(), value.missing]", { value: {} })).toEqual([
      [['a', 1]],
      ['a'],
      null,
    ]);
  });

  it('reports Python errors as coded failures', () => {
    const failures = ['1 / 0', "int('1.5')", '[1][3]', "{'a': 1}['b']", 'undefined_name', "'a' + 1", '(1)()'];
    for (const source of failures) {
      expect(() => evaluate(source), source).toThrow(
        expect.objectContaining({ code: 'TELEMETRY_EXPRESSION_FAILED' }),
      );
    }
  });

  it('refuses bad syntax at compile time with the column at fault', () => {
    for (const source of ['value.', '(1', "'open", 'a ! b', '1 +', 'lambda 1: 2', '[1,,2]', 'a = 1']) {
      expect(() => compileExpression(source), source).toThrow(
        expect.objectContaining({ code: 'TELEMETRY_EXPRESSION_SYNTAX' }),
      );
    }
    expect(() => compileExpression('a ! b')).toThrow(/column 3/);
  });
});

describe('expression language: hostile input', () => {
  it('never reaches JavaScript prototypes, constructors or globals', () => {
    expect(() => compileExpression('value.__class__')).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_EXPRESSION_SYNTAX' }),
    );
    expect(() => compileExpression('value.__proto__')).toThrow(/private attribute/);
    expect(evaluate('value.constructor', { value: {} })).toBeNull();
    expect(evaluate("value['constructor']", { value: { constructor: 'own' } })).toBe('own');
    expect(() => evaluate("value['__proto__']", { value: {} })).toThrow(/KeyError/);
    expect(() => evaluate("value['toString']", { value: {} })).toThrow(/KeyError/);
    expect(() => evaluate("'x'.constructor")).toThrow(/no attribute/);
    expect(() => evaluate('[].constructor')).toThrow(/no attribute/);
    for (const name of ['process', 'globalThis', 'require', 'eval', 'Function', 'import', 'this']) {
      expect(() => evaluate(name), name).toThrow(/is not defined/);
    }
    expect(() => evaluate('(lambda: 1)')).toThrow(/function, not a value/);
    expect(() => evaluate('x', { x: () => 1 })).toThrow(/unsupported/);
    expect(() => evaluate('x.a', { x: new Map() })).toThrow(/unsupported/);
  });

  it('does not let a dict literal or JSON input pollute prototypes', () => {
    const result = evaluate("{'__proto__': {'polluted': 1}}") as Record<string, unknown>;
    expect(Object.hasOwn(result, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('bounds runaway recursion, loops, repetition and nesting', () => {
    const limited = expect.objectContaining({ code: 'TELEMETRY_EXPRESSION_LIMIT' });
    expect(() => evaluate('(lambda f: f(f))(lambda f: f(f))')).toThrow(limited);
    expect(() => evaluate("'a' * 10**9")).toThrow(limited);
    expect(() => evaluate('[0] * 10**9')).toThrow(limited);
    expect(() => evaluate("('a' * 1000000).replace('a', 'aaaa')")).toThrow(limited);
    expect(() => evaluate("'x'.join(['a'] * 99999)", {})).not.toThrow();
    expect(() => evaluate('sum(map(lambda x: sum(map(lambda y: y, [1] * 50000)), [1] * 50000))')).toThrow(
      limited,
    );
    expect(() => compileExpression(`${'('.repeat(500)}1${')'.repeat(500)}`)).toThrow(limited);
    expect(() => compileExpression(`${'-'.repeat(500)}1`)).toThrow(limited);
    expect(() => compileExpression(`${'not '.repeat(500)}1`)).toThrow(limited);
    expect(() => compileExpression(`${'1+'.repeat(5000)}1`)).toThrow(limited);
    expect(() => evaluate('10.0 ** 400')).toThrow(/out of range/);
    // Shared references multiply out only in deep operations; those are bounded too.
    const nested = '[[0] * 50000] * 50000';
    expect(() => evaluate(`str(${nested})`)).toThrow(limited);
    expect(() => evaluate(`${nested} == ${nested}`)).toThrow(limited);
    expect(() => evaluate(`sorted([${nested}, ${nested}])`)).toThrow(limited);
    expect(() => evaluate(`str(['a' * 900000] * 50)`)).toThrow(limited);
    expect(() => evaluate("list('x' * 200000)")).toThrow(limited);
    expect(evaluate("len(str('a' * 1000000))")).toBe(1000000);
    expect(() => evaluate("{'a': 1}[[1] * 99999]")).toThrow(/KeyError: list/);
  });

  it('keeps a compiled expression reusable and independent between evaluations', () => {
    const expression = compileExpression('value * 2');
    expect(expression.evaluate({ value: 2 })).toBe(4);
    expect(expression.evaluate({ value: 'ab' })).toBe('abab');
    expect(telemetryErrors.is(new Error('x'))).toBe(false);
  });
});
