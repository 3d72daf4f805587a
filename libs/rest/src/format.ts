/** Output formatting exactly as Gnocchi renders Python values in JSON. */
import type { Points } from '@granary/carbonara';
import { pyFloatRepr } from '@granary/telemetry';
import { pythonJson, pythonNumber } from './http.ts';

/** Python's `str(datetime.timedelta(seconds=s))`: `0:00:01`, `1:00:00`, `0:00:03.600000`, `2 days, 0:00:00`. */
export function pythonTimedelta(seconds: number): string {
  const totalMicros = Math.round(seconds * 1e6);
  const negative = totalMicros < 0;
  // timedelta normalises to days (possibly negative) plus a non-negative remainder below a day.
  const dayMicros = 86_400 * 1e6;
  const days = Math.floor(totalMicros / dayMicros);
  let rest = totalMicros - days * dayMicros;
  const micros = rest % 1e6;
  rest = (rest - micros) / 1e6;
  const h = Math.floor(rest / 3600);
  const m = Math.floor((rest % 3600) / 60);
  const s = rest % 60;
  const clock = `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}${
    micros ? `.${String(micros).padStart(6, '0')}` : ''
  }`;
  if (days === 0 && !negative) return clock;
  return `${days} day${Math.abs(days) === 1 ? '' : 's'}, ${clock}`;
}

/**
 * Python's `datetime.isoformat()` of an aware UTC datetime, from epoch µs:
 * `2014-01-03T02:02:02+00:00`, with `.ffffff` only when there are microseconds.
 */
export function isoFromMicros(micros: number): string {
  const seconds = Math.floor(micros / 1e6);
  const fraction = micros - seconds * 1e6;
  return `${isoSeconds(seconds)}${fraction ? `.${String(fraction).padStart(6, '0')}` : ''}+00:00`;
}

/**
 * Gnocchi's measure timestamps: truncated to the second (`datetime_as_string(unit='s')`). A read
 * formats up to hundreds of thousands of consecutive points, so the date part is formatted once
 * per day and the time of day from a table, not by a `Date` per point.
 */
export function isoSecondsFromMicros(micros: number): string {
  const seconds = Math.floor(micros / 1e6);
  const day = Math.floor(seconds / SECONDS_PER_DAY);
  if (day !== lastDay) {
    lastDay = day;
    lastDayPrefix = isoSeconds(day * SECONDS_PER_DAY).slice(0, 11);
  }
  const ofDay = seconds - day * SECONDS_PER_DAY;
  const hours = Math.floor(ofDay / 3600);
  const minutes = Math.floor((ofDay % 3600) / 60);
  return `${lastDayPrefix}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[ofDay % 60]}+00:00`;
}

const SECONDS_PER_DAY = 86_400;
const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));
let lastDay = Number.NaN;
let lastDayPrefix = '';

const isoSeconds = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString().slice(0, 19);

/** What fastify gives serialized replies; bodies written as bytes must say the same. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * The body of `GET …/measures` exactly as Gnocchi's JSON renderer writes it:
 * `[["2015-03-06T14:33:00+00:00", 60.0, 23.1], …]`, granularity and values as Python floats
 * (`repr`, with `NaN`/`Infinity` tokens), a calendar resample unit as a string. A year of 1-minute
 * points is half a million rows (27 MB), so rows go straight into one byte buffer: the date part
 * of a timestamp once per day, the time of day and whole values digit by digit, other values from
 * `String()` where it already equals Python's repr; no string or array per row.
 */
export function measureRowsJson(series: readonly { points: Points; granularity: number | string }[]): Buffer {
  let capacity = 2;
  const parts = series.map(({ points, granularity }) => {
    // `", <granularity>, ` after each timestamp's closing `+00:00`.
    const middle = asciiBytes(
      `+00:00", ${typeof granularity === 'number' ? pythonFloatJson(granularity) : pythonJson(granularity)}, `,
    );
    capacity += points.timestamps.length * (MAX_ROW_BYTES + middle.length);
    return { points, middle };
  });
  // The bound on every row's length: no growing, no check per write.
  const out = Buffer.allocUnsafe(capacity);
  let at = 0;
  out[at++] = OPEN_BRACKET;
  for (const { points, middle } of parts) {
    const { timestamps, values } = points;
    for (let index = 0; index < timestamps.length; index++) {
      if (at > 1) {
        out[at++] = COMMA;
        out[at++] = SPACE;
      }
      out[at++] = OPEN_BRACKET;
      out[at++] = QUOTE;
      at = writeIsoSeconds(out, at, timestamps[index] as number);
      for (let byte = 0; byte < middle.length; byte++) out[at++] = middle[byte] as number;
      at = writePythonFloat(out, at, values[index] as number);
      out[at++] = CLOSE_BRACKET;
    }
  }
  out[at++] = CLOSE_BRACKET;
  return out.subarray(0, at);
}

/** Python's `json.dumps(float)`: `repr` (`60.0`, `1e+16`, `1e-07`), `NaN` and `±Infinity` tokens. */
export function pythonFloatJson(value: number): string {
  return Number.isFinite(value) ? pyFloatRepr(value) : pythonNumber(value);
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const SPACE = 0x20;
const COLON = 0x3a;
const MINUS = 0x2d;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
// `, ["` + `YYYY-MM-DDTHH:MM:SS` + the longest float repr (`-1.2345678901234567e-308`, 24) + `]`.
const MAX_ROW_BYTES = 4 + 19 + 24 + 1;
// Below 2^53 a whole double's digits come exactly out of % and /; Python prints it as `<digits>.0`.
const EXACT_INTEGER_LIMIT = 2 ** 53;
// Between these, a fraction's shortest round-trip digits print in fixed notation in both JS and Python.
const FIXED_NOTATION_FROM = 1e-4;
const FIXED_NOTATION_BELOW = 1e16;

const asciiBytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');

// Consecutive rows mostly share their day: its `YYYY-MM-DDT` is formatted once.
let prefixDay = Number.NaN;
let prefixBytes: Uint8Array = new Uint8Array(0);
const integerDigits = new Uint8Array(20);

/** `YYYY-MM-DDTHH:MM:SS` of epoch µs truncated to the second (`isoSecondsFromMicros`) at `at`; returns the end. */
function writeIsoSeconds(out: Uint8Array, start: number, micros: number): number {
  let at = start;
  const seconds = Math.floor(micros / 1e6);
  const day = Math.floor(seconds / SECONDS_PER_DAY);
  if (day !== prefixDay) {
    prefixDay = day;
    prefixBytes = asciiBytes(isoSeconds(day * SECONDS_PER_DAY).slice(0, 11));
  }
  for (let byte = 0; byte < prefixBytes.length; byte++) out[at++] = prefixBytes[byte] as number;
  const ofDay = seconds - day * SECONDS_PER_DAY;
  const minutesOfDay = Math.floor(ofDay / 60);
  const hours = Math.floor(minutesOfDay / 60);
  const minutes = minutesOfDay - hours * 60;
  const secondsOfMinute = ofDay - minutesOfDay * 60;
  out[at++] = DIGIT_0 + Math.floor(hours / 10);
  out[at++] = DIGIT_0 + (hours % 10);
  out[at++] = COLON;
  out[at++] = DIGIT_0 + Math.floor(minutes / 10);
  out[at++] = DIGIT_0 + (minutes % 10);
  out[at++] = COLON;
  out[at++] = DIGIT_0 + Math.floor(secondsOfMinute / 10);
  out[at++] = DIGIT_0 + (secondsOfMinute % 10);
  return at;
}

/** `pythonFloatJson(value)` at `at`, without a string for whole numbers; returns the end. */
function writePythonFloat(out: Uint8Array, start: number, value: number): number {
  let at = start;
  const magnitude = Math.abs(value);
  if (Number.isInteger(value) && magnitude < EXACT_INTEGER_LIMIT && !Object.is(value, -0)) {
    if (value < 0) out[at++] = MINUS;
    let length = 0;
    let rest = magnitude;
    do {
      const next = Math.floor(rest / 10);
      integerDigits[length++] = DIGIT_0 + rest - next * 10;
      rest = next;
    } while (rest > 0);
    while (length > 0) out[at++] = integerDigits[--length] as number;
    out[at++] = DOT;
    out[at++] = DIGIT_0;
    return at;
  }
  const text =
    magnitude >= FIXED_NOTATION_FROM && magnitude < FIXED_NOTATION_BELOW && !Number.isInteger(value)
      ? String(value)
      : pythonFloatJson(value);
  for (let index = 0; index < text.length; index++) out[at++] = text.charCodeAt(index);
  return at;
}
