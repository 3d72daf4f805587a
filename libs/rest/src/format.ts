/** Output formatting exactly as Gnocchi renders Python values in JSON. */
import type { Points } from '@granary/carbonara';
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
 * The body of `GET …/measures`, `[["<iso>", <granularity>, <value>], …]` exactly as `pythonJson`
 * writes those rows, but straight into bytes: a year of 1-minute points is half a million rows,
 * and building them as arrays first, then as strings, took three times longer (about a second).
 */
export function measureRowsJson(series: readonly { points: Points; granularity: number | string }[]): Buffer {
  const rows = series.reduce((total, { points }) => total + points.timestamps.length, 0);
  const writer = new AsciiWriter(rows * 48 + 2);
  writer.write('[');
  let first = true;
  for (const { points, granularity } of series) {
    const separator = `", ${pythonJson(granularity)}, `;
    const { timestamps, values } = points;
    for (let index = 0; index < timestamps.length; index++) {
      const iso = isoSecondsFromMicros(timestamps[index] as number);
      writer.write(`${first ? '' : ', '}["${iso}${separator}${pythonNumber(values[index] as number)}]`);
      first = false;
    }
  }
  writer.write(']');
  return writer.bytes();
}

/** Appends ASCII text to a growing buffer. */
class AsciiWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(capacity: number) {
    this.buffer = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  write(text: string): void {
    if (this.length + text.length > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + text.length));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length += this.buffer.write(text, this.length, 'latin1');
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}
