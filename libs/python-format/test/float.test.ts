import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pyFloatJson, pyFloatRepr, writePyFloatJson } from '../index.ts';

/** CPython's repr() of 3,000 doubles of every shape (fixtures/float-repr.py made them). */
const cpython = readFileSync(new URL('fixtures/float-repr.txt', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => {
    const [bits = '', text = ''] = line.split(' ');
    return { value: Buffer.from(bits, 'hex').readDoubleBE(0), text };
  });

const written = (value: number) => {
  const out = Buffer.alloc(32);
  return out.subarray(0, writePyFloatJson(out, 0, value)).toString('latin1');
};

describe('pyFloatRepr', () => {
  it.each([
    [60, '60.0'],
    [0.2, '0.2'],
    [1425600000, '1425600000.0'],
    [0, '0.0'],
    [-0, '-0.0'],
    [-2.5, '-2.5'],
    [0.1 + 0.2, '0.30000000000000004'],
    [1 / 3, '0.3333333333333333'],
    [1e-4, '0.0001'],
    [1e-5, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [2.5e-10, '2.5e-10'],
    [123456789012345.6, '123456789012345.6'],
    [1e15, '1000000000000000.0'],
    [2 ** 53 + 2, '9007199254740994.0'],
    [1e16, '1e+16'],
    [1.2345e22, '1.2345e+22'],
    [1.5e300, '1.5e+300'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [Number.NaN, 'nan'],
    [Number.POSITIVE_INFINITY, 'inf'],
    [Number.NEGATIVE_INFINITY, '-inf'],
  ])('%s → %s', (value, text) => {
    expect(pyFloatRepr(value)).toBe(text);
  });

  it("equals CPython's repr on 3,000 doubles of every shape", () => {
    expect(cpython.length).toBeGreaterThan(2_900);
    const wrong = cpython.filter(({ value, text }) => pyFloatRepr(value) !== text);
    expect(wrong).toEqual([]);
  });
});

describe('pyFloatJson and writePyFloatJson', () => {
  it("write json.dumps' tokens for NaN and the infinities, repr otherwise", () => {
    for (const write of [pyFloatJson, written]) {
      expect([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY].map(write)).toEqual([
        'NaN',
        'Infinity',
        '-Infinity',
      ]);
    }
  });

  it('write the same bytes as repr on the fast paths (whole numbers, few decimals) and off them', () => {
    const wrong = cpython.filter(({ value, text }) => written(value) !== text);
    expect(wrong).toEqual([]);
    for (const value of [23.1, -0.25, 0.0001, 0.000123, 999999999.999999, 1e9 + 0.5, -0, 2 ** 53, 7e-5]) {
      expect(written(value)).toBe(pyFloatRepr(value));
    }
  });
});
