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
 * aside), `#` lines are comments as in InfluxDB, booleans and signed integers are accepted, a
 * token may start with an escape (`a=\ x`, which Gnocchi refuses and InfluxDB accepts), values
 * must be finite, and timestamps follow the `precision` query parameter (Gnocchi reads
 * nanoseconds whatever it says). Names live in Maps: a tag called `__proto__` is just a tag.
 * Checked against a running Gnocchi 4.7.1 on 14 bodies (escapes, quotes, non-ASCII and astral tag
 * order, `/`, CRLF, repeated keys, numeric forms): the same resources, ids and metric names, and
 * the same stored values, but for the leading escape.
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
const [SPACE, COMMA, EQUALS, BACKSLASH] = [' ', ',', '=', '\\'].map((char) => char.charCodeAt(0));
/** `\ `, `\,` and `\=` stand for the character; any other backslash is itself. */
const ESCAPED_SEPARATOR = /\\([ ,=])/g;
const WHITESPACE_ESCAPES = new Map([
  ['t', '\t'],
  ['n', '\n'],
  ['f', '\f'],
  ['r', '\r'],
]);

/** Lines read between two turns of the event loop: a 16 MB body is ~150,000 lines. */
const LINES_PER_TURN = 5000;

/**
 * Every point of a body, or the first line that cannot be read. `unitNanos` comes from
 * `precisionNanos`. Lines are separated by `\n`; empty and comment lines are skipped. Pure, but
 * it lets the event loop run every few thousand lines, so a large body does not hold up other
 * requests.
 */
export async function parseLineProtocol(body: Uint8Array, unitNanos: bigint): Promise<LineProtocolResult> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return { line: firstUndecodableLine(body), error: 'not valid UTF-8' };
  }
  const points: LinePoint[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    if (index % LINES_PER_TURN === LINES_PER_TURN - 1) await new Promise((next) => setImmediate(next));
    let line = lines[index]!;
    // A CRLF body's lines end in `\r`, which is no part of the point.
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.startsWith('#') || line.trim() === '') continue;
    const parsed = parseLine(line, unitNanos);
    if ('error' in parsed) return { line: index + 1, error: parsed.error };
    points.push({
      line: index + 1,
      measurement: parsed.measurement,
      tags: parsed.tags,
      fields: parsed.fields,
      timestamp: parsed.timestamp,
    });
  }
  return { points };
}

/** The 1-based line holding the first byte sequence that is not UTF-8 (the body has one). */
function firstUndecodableLine(body: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  for (let line = 1; ; line++) {
    const end = body.indexOf(0x0a, start);
    try {
      decoder.decode(body.subarray(start, end === -1 ? body.length : end));
    } catch {
      return line;
    }
    if (end === -1) return line;
    start = end + 1;
  }
}

type ParsedLine = Omit<LinePoint, 'line'>;

class LineError extends Error {}

/** One line, read left to right by a cursor; a LineError says where it stopped. */
function parseLine(text: string, unitNanos: bigint): ParsedLine | { error: string } {
  if (text.includes('\0')) return { error: 'NUL characters are not accepted' };
  try {
    return new LineCursor(text).point(unitNanos);
  } catch (err) {
    if (err instanceof LineError) return { error: err.message };
    throw err;
  }
}

/** Methods, not closures: a body has hundreds of thousands of lines. */
class LineCursor {
  private at = 0;
  constructor(private readonly text: string) {}

  point(unitNanos: bigint): ParsedLine {
    const { text } = this;
    const measurement = this.token('a measurement name');
    const tags = new Map<string, string>();
    while (text[this.at] === ',') {
      this.at++;
      const key = this.token('a tag key');
      this.expect('=', "expected '=' after the tag key");
      tags.set(key, this.token('a tag value'));
    }
    if (!this.spaces()) this.fail("expected ' ' before the fields");
    const fields = new Map<string, FieldValue>();
    for (;;) {
      const key = this.token('a field key');
      this.expect('=', "expected '=' after the field key");
      fields.set(key, text[this.at] === '"' ? this.quoted('field value') : this.fieldValue());
      if (text[this.at] !== ',') break;
      this.at++;
    }
    let timestamp: number | null = null;
    if (this.spaces() && this.at < text.length) timestamp = this.timestamp(unitNanos);
    while (this.at < text.length && text[this.at]!.trim() === '') this.at++;
    if (this.at < text.length) this.fail('unexpected character');
    return { measurement, tags, fields, timestamp };
  }

  /** A name or tag value: Gnocchi's quoted or unquoted token, at least one character. */
  private token(what: string): string {
    const { text } = this;
    if (text[this.at] === '"') return this.quoted(what);
    const from = this.at;
    let escaped = false;
    while (this.at < text.length) {
      const char = text.charCodeAt(this.at);
      if (char === SPACE || char === COMMA || char === EQUALS) break;
      if (char === BACKSLASH) {
        escaped = true;
        const next = text.charCodeAt(this.at + 1);
        if (next === SPACE || next === COMMA || next === EQUALS) this.at++;
      }
      this.at++;
    }
    if (this.at === from) this.fail(`expected ${what}`);
    const raw = text.slice(from, this.at);
    return escaped ? raw.replace(ESCAPED_SEPARATOR, '$1') : raw;
  }

  private quoted(what: string): string {
    const { text } = this;
    const open = this.at;
    const close = (from: number): number => {
      for (let at = from; at < text.length; at++) {
        if (text[at] === '\\') at++;
        else if (text[at] === '"') return at;
      }
      return -1;
    };
    const end = close(open + 1);
    if (end === -1) this.fail(`unterminated quoted ${what}`);
    this.at = end + 1;
    return text
      .slice(open + 1, end)
      .replace(/\\(.)/g, (_, char: string) => WHITESPACE_ESCAPES.get(char) ?? char);
  }

  /** An unquoted field value: a number, or a boolean (read, then ignored by the caller). */
  private fieldValue(): FieldValue {
    const { text } = this;
    const from = this.at;
    while (this.at < text.length && text[this.at] !== ',' && text[this.at] !== ' ') this.at++;
    const raw = text.slice(from, this.at);
    const number =
      INTEGER.test(raw) || UNSIGNED.test(raw)
        ? Number(raw.slice(0, -1))
        : FLOAT.test(raw)
          ? Number(raw)
          : undefined;
    if (number !== undefined && Number.isFinite(number)) return number;
    const boolean = BOOLEAN.get(raw);
    if (boolean !== undefined) return boolean;
    this.at = from;
    return this.fail(
      number === undefined
        ? 'expected a field value (number, "string" or boolean)'
        : 'field value out of range',
    );
  }

  /** Epoch µs from an integer in `unitNanos` units, truncated to µs (Granary's resolution). */
  private timestamp(unitNanos: bigint): number {
    const { text } = this;
    const from = this.at;
    while (this.at < text.length && text[this.at] !== ' ' && text[this.at] !== '\t') this.at++;
    const digits = text.slice(from, this.at);
    if (!TIMESTAMP.test(digits)) {
      this.at = from;
      this.fail('expected an integer timestamp');
    }
    const nanos = BigInt(digits) * unitNanos;
    if (nanos < 0n) throw new LineError('timestamp before the epoch');
    const micros = nanos / 1000n;
    if (micros > MAX_MICROS) throw new LineError('timestamp too far in the future');
    return Number(micros);
  }

  private spaces(): boolean {
    const from = this.at;
    while (this.text[this.at] === ' ') this.at++;
    return this.at > from;
  }

  private expect(char: string, what: string): void {
    if (this.text[this.at] !== char) this.fail(what);
    this.at++;
  }

  private fail(what: string): never {
    const { text, at } = this;
    throw new LineError(
      at < text.length ? `${what} at column ${at + 1} ('${text[at]}')` : `${what} at the end of the line`,
    );
  }
}
