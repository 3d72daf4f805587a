import { describe, expect, it } from 'vitest';
import { compileExpression, expressionErrors } from '../index.ts';

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
      expect(() => evaluate(source), source).toThrow(expect.objectContaining({ code: 'EXPRESSION_FAILED' }));
    }
  });

  it('refuses bad syntax at compile time with the column at fault', () => {
    for (const source of ['value.', '(1', "'open", 'a ! b', '1 +', 'lambda 1: 2', '[1,,2]', 'a = 1']) {
      expect(() => compileExpression(source), source).toThrow(
        expect.objectContaining({ code: 'EXPRESSION_SYNTAX' }),
      );
    }
    expect(() => compileExpression('a ! b')).toThrow(/column 3/);
  });
});

describe('expression language: grammar', () => {
  it('binds operators with Python precedence and associativity', () => {
    expect(evaluateEach('1 + 2 * 3, (1 + 2) * 3, 2 * 3 ** 2, 10 - 4 - 3, 100 / 10 / 5, 2 * 3 % 4')).toEqual([
      7, 9, 18, 3, 2, 2,
    ]);
    // `**` is right-associative and binds tighter than a unary sign on its left, looser on its right.
    expect(evaluateEach('2 ** 3 ** 2, -2 ** 2, 2 ** -1, (-2) ** 2')).toEqual([512, -4, 0.5, 4]);
    expect(evaluate('-x ** 2', { x: 3 })).toBe(-9);
    // Arithmetic before comparison, comparison before `not`, `not` before `and`, `and` before `or`.
    expect(
      evaluateEach('1 + 2 < 4, not 1 == 2, not 1 in [1], True or False and False, (True or False) and False'),
    ).toEqual([true, true, false, true, false]);
    // The conditional is the loosest and nests to the right; a lambda body takes a whole conditional.
    expect(
      evaluateEach(
        "1 if 0 else 2 if 1 else 3, 'a' + 'b' if 0 else 'c', (lambda v: 'big' if v > 9 else 'small')(10)",
      ),
    ).toEqual([2, 'c', 'big']);
  });

  it('applies unary signs and not, nested or not', () => {
    expect(evaluateEach('-3, +3, --3, - -3, -(1 + 2), +True, -False, not 0, not not 1, not []')).toEqual([
      -3,
      3,
      3,
      3,
      -3,
      1,
      -0,
      true,
      true,
      true,
    ]);
    expect(evaluate('-value', { value: 5 })).toBe(-5);
    expect(evaluate('1 - -value', { value: 5 })).toBe(6);
    expect(() => evaluate("-'a'")).toThrow(/unary -: expected a number, got str/);
    expect(() => evaluate('+None')).toThrow(/unary \+: expected a number, got NoneType/);
  });

  it('chains comparisons pairwise and stops at the first false one', () => {
    expect(
      evaluateEach('1 < 2 < 3, 1 < 3 < 2, 1 < 2 > 0, 3 > 2 > 1 > 0, 1 == 1 == 1.0, 1 < 2 == 2 != 3'),
    ).toEqual([true, false, true, true, true, true]);
    // Python never evaluates the rest of a chain once a link is false.
    expect(evaluate('1 > 2 < undefined_name')).toBe(false);
    expect(() => evaluate('1 < 2 < undefined_name')).toThrow(/not defined/);
    expect(evaluateEach('2 >= 2, 2 <= 1, 1 != 2, True == 1, None == 0, [] is [], None is not 0')).toEqual([
      true,
      false,
      true,
      true,
      false,
      false,
      true,
    ]);
    expect(evaluateEach("'a' < 'b', 'B' < 'a', [1, 2] < [1, 3], [1] < [1, 0], [2] > [1, 9]")).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(() => evaluate("1 < 'a'")).toThrow(/cannot order int and str/);
    expect(() => evaluate("{'a': 1} < {'a': 2}")).toThrow(/cannot order dict and dict/);
    expect(() => evaluate('1 in 2')).toThrow(/int is not iterable/);
  });

  it('short-circuits and / or, returning the deciding operand', () => {
    expect(evaluateEach("0 or '', 1 and 2, 0 and 1, None or 0 or 'last', 'first' or undefined_name")).toEqual(
      ['', 2, 0, 'last', 'first'],
    );
    expect(evaluate('0 and undefined_name')).toBe(0);
    expect(evaluateEach("[] or [1], {} or {'a': 1}, '' or 'x'")).toEqual([[1], { a: 1 }, 'x']);
  });

  it('reads the literals Python writes', () => {
    expect(evaluateEach("1e3, .5, 1., 2.5E-1, 'a\\tb', \"it's\", 'a' 'b' \"c\", True, False, None")).toEqual([
      1000,
      0.5,
      1,
      0.25,
      'a\tb',
      "it's",
      'abc',
      true,
      false,
      null,
    ]);
    // Tuples read as lists; a trailing comma is allowed; parentheses alone only group.
    expect(evaluateEach('(1, 2), (), (1,), (1), [1, 2,], {"k": [1], "j": None,}')).toEqual([
      [1, 2],
      [],
      [1],
      1,
      [1, 2],
      { k: [1], j: null },
    ]);
    expect(() => evaluate('{1: 2}')).toThrow(/dict keys must be str/);
  });

  it('indexes and slices lists and strings by code point, negative from the end', () => {
    expect(
      evaluateEach(
        "[1, 2, 3][-1], [1, 2, 3][0], 'héllo'[1], 'a😀b'[1], 'abc'[5:], 'abc'[:], [1, 2, 3][-5:2]",
      ),
    ).toEqual([3, 1, 'é', '😀', '', 'abc', [1, 2]]);
    expect(() => evaluate('[1][1.5]')).toThrow(/indices must be integers/);
    expect(() => evaluate("'abc'[-4]")).toThrow(/string index: index -4 out of range/);
    expect(() => evaluate('None[0]')).toThrow(/'NoneType' object is not subscriptable/);
    expect(() => evaluate('5[1:]')).toThrow(/'int' object is not subscriptable/);
  });

  it('follows Python for division, modulo and repetition', () => {
    expect(
      evaluateEach("7 % -3, 5.5 // 2, -7 / 2, 'ab' * 2, 2 * 'ab', [1] * 0, 'a' * -1, True + True"),
    ).toEqual([-2, 2, -3.5, 'abab', 'abab', [], '', 2]);
    for (const source of ['1 // 0', '1 % 0', '1 / 0.0'])
      expect(() => evaluate(source), source).toThrow(/division by zero/);
    expect(() => evaluate("'a' * 1.5")).toThrow(/can't multiply sequence by non-int/);
    expect(evaluate('[1] + [2]')).toEqual([1, 2]);
    expect(() => evaluate("[1] + 'a'")).toThrow(/operator \+: expected a number, got list/);
  });

  it('closes lambdas over their scope, parameters shadowing variables', () => {
    expect(evaluate('(lambda x: lambda y: x + y)(1)(2)')).toBe(3);
    expect(evaluate('(lambda value: value + 1)(1)', { value: 10 })).toBe(2);
    expect(evaluate('(lambda a, b: a * b)(3, 4)')).toBe(12);
    expect(evaluate('(lambda: value)()', { value: 'outer' })).toBe('outer');
    expect(() => evaluate('(lambda a, b: a)(1)')).toThrow(/takes 2 arguments \(1 given\)/);
    expect(() => evaluate('len(1, 2)')).toThrow(/len\(\) takes 1 arguments \(2 given\)/);
  });
});

describe('expression language: attribute access on samples', () => {
  // What the arithmetic and unit-conversion transformers hand the expression: a sample's namespace.
  const sample = {
    name: 'cpu',
    volume: 2_000_000_000,
    unit: 'ns',
    resource_metadata: { cpu_number: 4, flavor: { vcpus: 2, name: 'm1.small' }, tags: ['a', 'b'] },
  };

  it('reads fields, nested metadata and methods of the values it reaches', () => {
    expect(evaluate('s.volume / s.resource_metadata.cpu_number', { s: sample })).toBe(500_000_000);
    expect(evaluate('s.resource_metadata.flavor.vcpus * 2', { s: sample })).toBe(4);
    expect(evaluate("s.resource_metadata.flavor.name.split('.')[1].upper()", { s: sample })).toBe('SMALL');
    expect(evaluate('len(s.resource_metadata.tags)', { s: sample })).toBe(2);
    expect(evaluate("s.unit == 'ns' and s.name", { s: sample })).toBe('cpu');
  });

  it('gives None for an absent key, so `or` supplies a default, and fails past it', () => {
    expect(evaluate('s.resource_metadata.missing', { s: sample })).toBeNull();
    expect(evaluate('s.volume / (s.resource_metadata.absent or 1)', { s: sample })).toBe(2e9);
    expect(() => evaluate('s.resource_metadata.missing.deeper', { s: sample })).toThrow(
      /'NoneType' object has no attribute 'deeper'/,
    );
    expect(() => evaluate('s.volume.real', { s: sample })).toThrow(/'int' object has no attribute 'real'/);
  });

  it("prefers a dict's methods to a key of the same name, as `.get` must stay callable", () => {
    expect(evaluate("s.get('name')", { s: { ...sample, get: 'shadowed' } })).toBe('cpu');
    expect(evaluate("s['get']", { s: { ...sample, get: 'shadowed' } })).toBe('shadowed');
  });
});

describe('expression language: errors are coded values', () => {
  const thrown = (run: () => unknown): unknown => {
    try {
      run();
    } catch (error) {
      return error;
    }
    throw new Error('expected a throw');
  };

  it('carries each code with its HTTP status, never retriable, and the problem in the message', () => {
    const cases = [
      [() => compileExpression('1 +'), 'EXPRESSION_SYNTAX', /unexpected end at column 4 of 1 \+/],
      [() => evaluate('1 / 0'), 'EXPRESSION_FAILED', /division by zero/],
      [() => compileExpression('1'.repeat(5000)), 'EXPRESSION_LIMIT', /5000 characters, limit 4096/],
    ] as const;
    for (const [run, code, message] of cases) {
      const error = thrown(run);
      expect(expressionErrors.is(error, code), code).toBe(true);
      expect(error).toMatchObject({ code, status: 400, retriable: false });
      expect((error as Error).message).toMatch(message);
    }
  });

  it('honours smaller limits given at compile time', () => {
    // Each bracket costs two levels (the expression inside and the atom around it).
    expect(compileExpression('[[1]]', { maxDepth: 6 }).evaluate()).toEqual([[1]]);
    expect(() => compileExpression('[[1]]', { maxDepth: 5 })).toThrow(/nesting deeper than 5/);
    expect(() => compileExpression('1 + 1', { maxSteps: 2 }).evaluate()).toThrow(/more than 2 steps/);
    expect(() => compileExpression("'ab' * 3", { maxStringLength: 5 }).evaluate()).toThrow(
      /string longer than 5/,
    );
    expect(() => compileExpression('[1, 2, 3]', { maxListLength: 2 }).evaluate()).toThrow(
      /list longer than 2/,
    );
    expect(() => compileExpression('abcd', { maxSourceLength: 3 })).toThrow(/limit 3/);
  });

  it('points at the column at fault for each kind of syntax error', () => {
    const columns: Array<[string, RegExp]> = [
      ["'open", /unterminated string at column 1/],
      ['a ! b', /unexpected character "!" at column 3/],
      ['value.', /expected an attribute name at column 7/],
      ['(1', /expected ',' at column 3/],
      ['lambda 1: 2', /expected a parameter name at column 8/],
      ['[1,,2]', /unexpected token at column 4/],
      ['1 2', /unexpected token at column 3/],
      ['x[]', /unexpected token at column 3/],
      ['1 if 2', /expected 'else' at column 7/],
      ['{"a" 1}', /expected ':' at column 6/],
    ];
    for (const [source, message] of columns) expect(() => compileExpression(source), source).toThrow(message);
  });
});

describe('expression language: hostile input', () => {
  it('never reaches JavaScript prototypes, constructors or globals', () => {
    expect(() => compileExpression('value.__class__')).toThrow(
      expect.objectContaining({ code: 'EXPRESSION_SYNTAX' }),
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
    const limited = expect.objectContaining({ code: 'EXPRESSION_LIMIT' });
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
    expect(expressionErrors.is(new Error('x'))).toBe(false);
  });
});
