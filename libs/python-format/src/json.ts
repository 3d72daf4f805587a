import { pyFloatJson } from './float.ts';
import { type PyDict, PyFloat, type PyValue } from './repr.ts';

/**
 * JSON as Gnocchi prints it (Python's `json.dumps`: `", "` and `": "` separators, non-ASCII kept):
 * clients and the conformance suite match response text such as `"name": "medium"` literally.
 * Built by appending to one string list. Numbers print as JS writes them (`jsonNumber`: `60`, as
 * Python prints an int); a `PyFloat` prints as Python's float (`60.0`), and a `JsonText` as its text:
 * the part of a body a columnar writer (`writePyFloatJson`) made, such as rows of measures.
 */
export function pythonJson(value: unknown): string {
  const out: string[] = [];
  appendPythonJson(value, out);
  return out.join('');
}

function appendPythonJson(value: unknown, out: string[]): void {
  if (value === null || value === undefined) {
    out.push('null');
  } else if (typeof value === 'number') {
    out.push(jsonNumber(value));
  } else if (value instanceof JsonText) {
    out.push(value.text);
  } else if (value instanceof PyFloat) {
    out.push(pyFloatJson(value.value));
  } else if (Array.isArray(value)) {
    out.push('[');
    for (let index = 0; index < value.length; index++) {
      if (index > 0) out.push(', ');
      appendPythonJson(value[index], out);
    }
    out.push(']');
  } else if (typeof value === 'object') {
    out.push('{');
    let first = true;
    // Own keys only: an inherited (polluted) property must never reach a reply.
    for (const key of Object.keys(value)) {
      const member = (value as Record<string, unknown>)[key];
      if (member === undefined) continue;
      out.push(first ? '' : ', ', JSON.stringify(key), ': ');
      first = false;
      appendPythonJson(member, out);
    }
    out.push('}');
  } else {
    out.push(JSON.stringify(value));
  }
}

/**
 * Text already in `json.dumps`' form, written into a body as is. Rows of thousands of floats are
 * written straight into bytes by one writer rather than as an array and a wrapper per number.
 */
export class JsonText {
  constructor(readonly text: string) {}
}

/** A number in `json.dumps`' text: JS's digits, and Python's `NaN` / `Infinity` / `-Infinity` tokens. */
export function jsonNumber(value: number): string {
  if (Number.isFinite(value)) return String(value);
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}

/**
 * JSON text → Python values as `json.loads` gives them: `1.0` stays a float (PyFloat) and `1` an
 * int. A signature is computed over `str()` of every value, so verifying a meter dict that crossed
 * the wire as JSON needs that distinction, which `JSON.parse` loses.
 */
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

export function parsePythonJson(text: string): PyValue {
  let at = 0;
  const fail = (problem: string): never => {
    throw new SyntaxError(`${problem} at position ${at}`);
  };
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at]!)) at++;
  };
  const expect = (char: string) => {
    if (text[at] !== char) fail(`expected ${char}`);
    at++;
  };
  const string = (): string => {
    if (text[at] !== '"') fail('expected a string');
    let end = at + 1;
    while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
    if (end >= text.length) fail('unterminated string');
    // JSON.parse checks the escapes and refuses raw control characters, as json.loads does.
    const parsed = JSON.parse(text.slice(at, end + 1)) as string;
    at = end + 1;
    return parsed;
  };
  const value = (depth: number): PyValue => {
    if (depth > 256) fail('nesting too deep');
    space();
    const char = text[at];
    if (char === '{') {
      at++;
      const dict: PyDict = Object.create(null);
      space();
      if (text[at] === '}') {
        at++;
        return dict;
      }
      for (;;) {
        space();
        const key = string();
        space();
        expect(':');
        dict[key] = value(depth + 1);
        space();
        if (text[at] === ',') at++;
        else {
          expect('}');
          return dict;
        }
      }
    }
    if (char === '[') {
      at++;
      const list: PyValue[] = [];
      space();
      if (text[at] === ']') {
        at++;
        return list;
      }
      for (;;) {
        list.push(value(depth + 1));
        space();
        if (text[at] === ',') at++;
        else {
          expect(']');
          return list;
        }
      }
    }
    if (char === '"') return string();
    for (const [word, result] of [
      ['true', true],
      ['false', false],
      ['null', null],
      ['NaN', new PyFloat(Number.NaN)],
      ['Infinity', new PyFloat(Number.POSITIVE_INFINITY)],
      ['-Infinity', new PyFloat(Number.NEGATIVE_INFINITY)],
    ] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return result;
      }
    }
    NUMBER.lastIndex = at;
    const number = NUMBER.exec(text);
    if (!number) return fail('unexpected character');
    at += number[0].length;
    const parsed = Number(number[0]);
    return number[1] !== undefined || number[2] !== undefined ? new PyFloat(parsed) : parsed;
  };
  const result = value(0);
  space();
  if (at !== text.length) fail('trailing text');
  return result;
}

/** Python values back to plain JSON-like values (floats as numbers). */
export function toPlain(value: PyValue): unknown {
  if (value instanceof PyFloat) return value.value;
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  return value;
}
