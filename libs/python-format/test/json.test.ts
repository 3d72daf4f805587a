import { describe, expect, it } from 'vitest';
import { JsonText, PyFloat, jsonNumber, parsePythonJson, pythonJson, toPlain } from '../index.ts';

describe('pythonJson', () => {
  it("writes json.dumps' separators, keeps non-ASCII, skips undefined members and inherited keys", () => {
    const value = Object.assign(Object.create({ inherited: 1 }), {
      name: 'médium',
      a: [1, 0.5, null],
      u: undefined,
    });
    expect(pythonJson(value)).toBe('{"name": "médium", "a": [1, 0.5, null]}');
    expect(pythonJson([Number.NaN, Number.POSITIVE_INFINITY, -Infinity, 'x'])).toBe(
      '[NaN, Infinity, -Infinity, "x"]',
    );
    expect(jsonNumber(60)).toBe('60');
  });

  it("writes a PyFloat as Python's float and a JsonText as its text", () => {
    const value = {
      points: 60,
      granularity: new PyFloat(60),
      tiny: new PyFloat(1e-5),
      rows: new JsonText('[[1.0]]'),
    };
    expect(pythonJson(value)).toBe('{"points": 60, "granularity": 60.0, "tiny": 1e-05, "rows": [[1.0]]}');
    expect(pythonJson([new PyFloat(Number.NaN)])).toBe('[NaN]');
  });
});

describe('parsePythonJson', () => {
  it('keeps floats apart from ints, as json.loads does', () => {
    expect(parsePythonJson('{"a": 1.0, "b": true, "c": [{"x": "y"}], "d": 1}')).toEqual({
      a: new PyFloat(1),
      b: true,
      c: [{ x: 'y' }],
      d: 1,
    });
  });

  it.each(['{"a": }', '{"a": 1} x', '"\u0001"', '[1,]', '{"a": "b'])('refuses %j', (text) => {
    expect(() => parsePythonJson(text)).toThrow(SyntaxError);
  });

  it('reads escapes, nesting, exponents, NaN and Infinity', () => {
    expect(
      parsePythonJson('{"s": "a\\"b\\u00e9", "n": [-0, 2e3, null, false], "x": NaN, "i": -Infinity}'),
    ).toEqual({
      s: 'a"bé',
      n: [-0, new PyFloat(2000), null, false],
      x: new PyFloat(Number.NaN),
      i: new PyFloat(Number.NEGATIVE_INFINITY),
    });
  });

  it('refuses nesting deeper than 256 levels', () => {
    expect(() => parsePythonJson(`${'['.repeat(300)}${']'.repeat(300)}`)).toThrow(/too deep/);
  });

  it('gives dicts without a prototype: a "__proto__" key is data', () => {
    const parsed = parsePythonJson('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBeNull();
    expect(Object.keys(parsed)).toEqual(['__proto__']);
  });
});

describe('toPlain', () => {
  it('turns PyFloats back into numbers, through lists and dicts', () => {
    expect(toPlain(parsePythonJson('{"a": [1.0, {"b": 2.5}], "c": 3}'))).toEqual({
      a: [1, { b: 2.5 }],
      c: 3,
    });
  });
});
