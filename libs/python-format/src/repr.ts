import { pyFloatRepr } from './float.ts';

/**
 * Python's `str()` and `repr()` for the values Ceilometer puts in a meter message, so that a
 * signature computed here hashes the very bytes Ceilometer hashes. JS has one number type; an
 * integral number prints as a Python int (`2`), anything else as a Python float (`0.5`), and
 * `PyFloat` marks a value that Python holds as a float even when integral (`1.0`).
 */
export class PyFloat {
  constructor(readonly value: number) {}
}

export type PyValue = null | boolean | number | string | PyFloat | PyValue[] | PyDict;
export interface PyDict {
  [key: string]: PyValue;
}

function numberRepr(x: number): string {
  return Number.isInteger(x) && Math.abs(x) < 1e21 ? x.toFixed(0) : pyFloatRepr(x);
}

/** Python's `str(value)`. */
export function pyStr(value: PyValue): string {
  return typeof value === 'string' ? value : pyRepr(value);
}

/** Python's `repr(value)`; dicts print in the order given (Python keeps insertion order). */
export function pyRepr(value: PyValue): string {
  return reprWith(value, quoteText);
}

/**
 * `repr()` of a value after Ceilometer's `decode_unicode`, which turns every str into UTF-8 bytes
 * and sorts dict keys: `['a']` prints as `[b'a']`.
 */
export function pyReprDecoded(value: PyValue): string {
  return reprWith(sortedKeys(value), quoteBytes);
}

function reprWith(value: PyValue, quote: (text: string) => string): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return numberRepr(value);
  if (typeof value === 'string') return quote(value);
  if (value instanceof PyFloat) return pyFloatRepr(value.value);
  if (Array.isArray(value)) return `[${value.map((item) => reprWith(item, quote)).join(', ')}]`;
  const entries = Object.entries(value).map(([k, v]) => `${quote(k)}: ${reprWith(v, quote)}`);
  return `{${entries.join(', ')}}`;
}

function sortedKeys(value: PyValue): PyValue {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object' || value instanceof PyFloat) return value;
  const sorted: PyDict = {};
  for (const key of Object.keys(value).sort(compareCodePoints)) sorted[key] = sortedKeys(value[key]!);
  return sorted;
}

/** Python orders strings by code point; JS's default sort orders by UTF-16 unit. */
export function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const difference = left[i]!.codePointAt(0)! - right[i]!.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

/** Python picks single quotes unless the text holds a single quote and no double quote. */
function quoteChar(text: string): string {
  return text.includes("'") && !text.includes('"') ? '"' : "'";
}

const NAMED_ESCAPES: Record<number, string> = { 92: '\\\\', 9: '\\t', 10: '\\n', 13: '\\r' };

function quoteBytes(text: string): string {
  const quote = quoteChar(text);
  let body = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const named = NAMED_ESCAPES[byte];
    if (named) body += named;
    else if (byte === quote.charCodeAt(0)) body += `\\${quote}`;
    else if (byte < 0x20 || byte >= 0x7f) body += `\\x${byte.toString(16).padStart(2, '0')}`;
    else body += String.fromCharCode(byte);
  }
  return `b${quote}${body}${quote}`;
}

function quoteText(text: string): string {
  const quote = quoteChar(text);
  let body = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    const named = NAMED_ESCAPES[code];
    if (named) body += named;
    else if (char === quote) body += `\\${quote}`;
    else if (code < 0x20 || (code >= 0x7f && code <= 0xa0))
      body += `\\x${code.toString(16).padStart(2, '0')}`;
    else body += char;
  }
  return `${quote}${body}${quote}`;
}
