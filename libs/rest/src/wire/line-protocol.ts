/**
 * InfluxDB's line protocol as Gnocchi 4.7.1 reads it (`gnocchi/rest/influxdb.py`):
 * `measurement[,tag=value…] field=value[,field=value…] [timestamp]`, one point per line.
 *
 * Names and tag values are Gnocchi's tokens: a `"…"` string (backslash escapes), or characters
 * other than space, comma, `=` and backslash, where `\ `, `\,` and `\=` stand for the character
 * and any other backslash is itself. Field values: `12i` (integer), `12u` (unsigned), floats,
 * `"…"` strings and booleans; strings and booleans are read and then ignored, since only numbers
 * become measures. Beyond Gnocchi, which ignores what follows a readable prefix of the line and
 * answers 500 or stores garbage on some inputs: the whole line must be read (trailing blanks
 * aside), `#` lines are comments as in InfluxDB, booleans and signed integers are accepted,
 * values must be finite, and timestamps follow the `precision` query parameter (Gnocchi reads
 * nanoseconds whatever it says). Names live in Maps: a tag called `__proto__` is just a tag.
 */

export type FieldValue = number | string | boolean;

export interface LinePoint {
  /** 1-based, for error messages. */
  line: number;
  measurement: string;
  tags: Map<string, string>;
  fields: Map<string, FieldValue>;
  /** Epoch µs, or null when the line has no timestamp (the caller's "now"). */
  timestamp: number | null;
}

export type LineProtocolResult = { points: LinePoint[] } | { line: number; error: string };

/** Nanoseconds per unit of InfluxDB's `precision` parameter. */
const PRECISION_NANOS = new Map<string, bigint>([
  ['n', 1n],
  ['ns', 1n],
  ['u', 1_000n],
  ['us', 1_000n],
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

/** The nanoseconds of one timestamp unit, or undefined for an unknown `precision`. */
export function precisionNanos(precision: string | undefined): bigint | undefined {
  return PRECISION_NANOS.get(precision ?? 'ns');
}

const INTEGER = /^[+-]?\d+i$/;
const UNSIGNED = /^\d+u$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BOOLEAN = new Map<string, boolean>(
  ['t', 'T', 'true', 'True', 'TRUE', 'f', 'F', 'false', 'False', 'FALSE'].map((word) => [
    word,
    word[0]!.toLowerCase() === 't',
  ]),
);
const TIMESTAMP = /^-?\d{1,25}$/;
/** Epoch µs are exact in a double up to 2^53 (year 2255), Granary's ceiling for time. */
const MAX_MICROS = BigInt(Number.MAX_SAFE_INTEGER);
const WHITESPACE_ESCAPES = new Map([
  ['t', '\t'],
  ['n', '\n'],
  ['f', '\f'],
  ['r', '\r'],
]);

/**
 * Every point of a body, or the first line that cannot be read. `unitNanos` comes from
 * `precisionNanos`. Lines are separated by `\n`; empty and comment lines are skipped.
 */
export function parseLineProtocol(body: Uint8Array, unitNanos: bigint): LineProtocolResult {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const points: LinePoint[] = [];
  let start = 0;
  for (let line = 1; start <= body.length; line++) {
    let end = body.indexOf(0x0a, start);
    if (end === -1) end = body.length;
    const bytes = body.subarray(start, end);
    start = end + 1;
    let text: string;
    try {
      // A CRLF body's lines end in `\r`, which is no part of the point.
      text = decoder.decode(bytes.at(-1) === 0x0d ? bytes.subarray(0, -1) : bytes);
    } catch {
      return { line, error: 'not valid UTF-8' };
    }
    if (text.trim() === '' || text.startsWith('#')) continue;
    const parsed = parseLine(text, unitNanos);
    if ('error' in parsed) return { line, error: parsed.error };
    points.push({ line, ...parsed });
  }
  return { points };
}

type ParsedLine = Omit<LinePoint, 'line'>;

class LineError extends Error {}

/** One line, read left to right by a cursor; a LineError says where it stopped. */
function parseLine(text: string, unitNanos: bigint): ParsedLine | { error: string } {
  if (text.includes('\0')) return { error: 'NUL characters are not accepted' };
  let at = 0;
  const fail = (what: string): never => {
    throw new LineError(
      at < text.length ? `${what} at column ${at + 1} ('${text[at]}')` : `${what} at the end of the line`,
    );
  };
  const expect = (char: string, what: string) => {
    if (text[at] !== char) fail(what);
    at++;
  };
  /** A name or tag value: Gnocchi's quoted or unquoted token, at least one character. */
  const token = (what: string): string => {
    if (text[at] === '"') return quoted(what);
    let out = '';
    while (at < text.length) {
      const char = text[at]!;
      if (char === ' ' || char === ',' || char === '=') break;
      if (char === '\\') {
        const next = text[at + 1];
        if (next === ' ' || next === ',' || next === '=') {
          out += next;
          at += 2;
          continue;
        }
      }
      out += char;
      at++;
    }
    if (out === '') fail(`expected ${what}`);
    return out;
  };
  const quoted = (what: string): string => {
    const open = at;
    at++;
    let out = '';
    while (at < text.length && text[at] !== '"') {
      if (text[at] === '\\' && at + 1 < text.length) {
        const next = text[at + 1]!;
        out += WHITESPACE_ESCAPES.get(next) ?? next;
        at += 2;
      } else {
        out += text[at];
        at++;
      }
    }
    if (at >= text.length) {
      at = open;
      fail(`unterminated quoted ${what}`);
    }
    at++;
    return out;
  };
  const spaces = () => {
    const from = at;
    while (text[at] === ' ') at++;
    return at > from;
  };

  try {
    const measurement = token('a measurement name');
    const tags = new Map<string, string>();
    while (text[at] === ',') {
      at++;
      const key = token('a tag key');
      expect('=', "expected '=' after the tag key");
      tags.set(key, token('a tag value'));
    }
    if (!spaces()) fail("expected ' ' before the fields");
    const fields = new Map<string, FieldValue>();
    for (;;) {
      const key = token('a field key');
      expect('=', "expected '=' after the field key");
      fields.set(key, fieldValue(text[at] === '"' ? { quoted: quoted('field value') } : rawValue()));
      if (text[at] !== ',') break;
      at++;
    }
    let timestamp: number | null = null;
    if (spaces() && at < text.length) {
      const from = at;
      while (at < text.length && text[at] !== ' ' && text[at] !== '\t' && text[at] !== '\r') at++;
      timestamp = toMicros(text.slice(from, at), unitNanos, () => {
        at = from;
        return fail('expected an integer timestamp');
      });
    }
    if (text.slice(at).trim() !== '') fail('unexpected character');
    return { measurement, tags, fields, timestamp };
  } catch (err) {
    if (err instanceof LineError) return { error: err.message };
    throw err;
  }

  function rawValue(): { raw: string; from: number } {
    const from = at;
    while (at < text.length && text[at] !== ',' && text[at] !== ' ') at++;
    return { raw: text.slice(from, at), from };
  }

  function fieldValue(value: { quoted: string } | { raw: string; from: number }): FieldValue {
    if ('quoted' in value) return value.quoted;
    const { raw, from } = value;
    const bad = (what: string): never => {
      at = from;
      return fail(what);
    };
    const number =
      INTEGER.test(raw) || UNSIGNED.test(raw)
        ? Number(raw.slice(0, -1))
        : FLOAT.test(raw)
          ? Number(raw)
          : undefined;
    if (number !== undefined) return Number.isFinite(number) ? number : bad('field value out of range');
    const boolean = BOOLEAN.get(raw);
    return boolean ?? bad('expected a field value (number, "string" or boolean)');
  }
}

function toMicros(digits: string, unitNanos: bigint, invalid: () => never): number {
  if (!TIMESTAMP.test(digits)) return invalid();
  const nanos = BigInt(digits) * unitNanos;
  // Truncated to µs: Granary's time resolution.
  const micros = nanos / 1000n;
  if (nanos < 0n) throw new LineError('timestamp before the epoch');
  if (micros > MAX_MICROS) throw new LineError('timestamp too far in the future');
  return Number(micros);
}
