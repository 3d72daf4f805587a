import { describe, expect, it } from 'vitest';
import { PyFloat, compareCodePoints, pyRepr, pyReprDecoded, pyStr } from '../index.ts';

describe('pyRepr and pyStr', () => {
  it('print ints, floats, None, booleans, lists and dicts in insertion order as Python does', () => {
    expect(pyRepr([1, new PyFloat(2), 0.5, null, true, false, { b: 'x', a: [] }])).toBe(
      "[1, 2.0, 0.5, None, True, False, {'b': 'x', 'a': []}]",
    );
    expect(pyStr('text')).toBe('text');
    expect(pyStr(new PyFloat(1e16))).toBe('1e+16');
    expect(pyStr(1e21)).toBe('1e+21');
  });

  it('quote as Python does: single quotes unless the text holds only a single quote; escapes', () => {
    expect(pyRepr("it's")).toBe(`"it's"`);
    expect(pyRepr(`a"b'c`)).toBe(`'a"b\\'c'`);
    expect(pyRepr('tab\there\n\\\u0001\u00e9')).toBe("'tab\\there\\n\\\\\\x01é'");
  });
});

describe('pyReprDecoded', () => {
  it("prints Ceilometer's decode_unicode form: UTF-8 bytes literals and sorted dict keys", () => {
    expect(pyReprDecoded([{ z: 'q', b: ['\n', 'a"b\''] }, '\u00e9'])).toBe(
      `[{b'b': [b'\\n', b'a"b\\''], b'z': b'q'}, b'\\xc3\\xa9']`,
    );
  });
});

describe('compareCodePoints', () => {
  it('orders by code point, as Python sorts str, not by UTF-16 unit', () => {
    const astral = '\u{1F600}'; // a surrogate pair, 0xD83D… in UTF-16
    expect(['\uFFFF', astral, 'a'].sort(compareCodePoints)).toEqual(['a', '\uFFFF', astral]);
    expect(compareCodePoints('ab', 'a')).toBeGreaterThan(0);
  });
});
