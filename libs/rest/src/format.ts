import { BoundedLru } from '@granary/bounded-cache';
/** Output formatting exactly as Gnocchi renders Python values in JSON. */
import { type Points, lowerBound } from '@granary/carbonara';
import { pyFloatJson, pythonJson, writePyFloatJson } from '@granary/python-format';

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

const SECONDS_PER_DAY = 86_400;

const isoSeconds = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString().slice(0, 19);

/** What fastify gives serialized replies; bodies written as bytes must say the same. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** One series of a measures body; `reuseKey` names it (metric, aggregation) for `WrittenRows`. */
export interface MeasureSeriesRows {
  readonly points: Points;
  readonly granularity: number | string;
  readonly reuseKey?: string | undefined;
}

/** A series' rows as last written: the next body of that series copies the bytes of rows that did not change. */
interface WrittenSeries {
  readonly timestamps: Float64Array;
  /** The values' bits: -0 and 0 print differently, and NaN equals itself here. */
  readonly valueBits: Int32Array;
  readonly body: Buffer;
  /** Where each row starts in `body`; `rowsEnd` is where the last one ends. */
  readonly rowStarts: Uint32Array;
  readonly rowsEnd: number;
}

/**
 * The rows of recent measures bodies by series, bounded by bytes. Reading the same metric again
 * (a dashboard refreshing a year) mostly finds the same points, shifted by a few at either end:
 * copying their bytes costs a few ms where formatting half a million rows costs ~130 ms. Reuse
 * is decided by comparing timestamps and value bits, never by trusting the key.
 */
export class WrittenRows {
  private readonly series: BoundedLru<WrittenSeries>;

  constructor(maxBytes: number) {
    this.series = new BoundedLru(maxBytes);
  }

  get(key: string): WrittenSeries | undefined {
    return this.series.get(key);
  }

  set(key: string, written: WrittenSeries): void {
    // The body is kept whole even when other series share it: weigh all of it.
    this.series.set(key, written, written.body.length + written.timestamps.length * 20);
  }
}

/**
 * The body of `GET …/measures` exactly as Gnocchi's JSON renderer writes it:
 * `[["2015-03-06T14:33:00+00:00", 60.0, 23.1], …]`, granularity and values as Python floats
 * (`repr`, with `NaN`/`Infinity` tokens), a calendar resample unit as a string. A year of 1-minute
 * points is half a million rows (27 MB), so rows go straight into one byte buffer: the date part
 * of a timestamp once per day, the time of day digit by digit, values by `writePyFloatJson`; no
 * string or array per row. With `written`,
 * the leading rows a series shares with its last body are copied from it.
 */
export function measureRowsJson(series: readonly MeasureSeriesRows[], written?: WrittenRows): Buffer {
  let capacity = 2;
  const plans = series.map(({ points, granularity, reuseKey }) => {
    // `", <granularity>, ` after each timestamp's closing `+00:00`.
    const middleText = `+00:00", ${typeof granularity === 'number' ? pyFloatJson(granularity) : pythonJson(granularity)}, `;
    const middle = asciiBytes(middleText);
    const key = written && reuseKey !== undefined ? `${reuseKey} ${middleText}` : undefined;
    const previous = key === undefined ? undefined : written?.get(key);
    const reused = previous && reusableRows(previous, points);
    const rows = points.timestamps.length;
    capacity +=
      rows * 2 + (reused?.bytes ?? 0) + (rows - (reused?.count ?? 0)) * (MAX_ROW_BYTES + middle.length);
    return { points, middle, key, previous, reused };
  });
  const unchanged = plans.length === 1 ? wholeBody(plans[0]!) : undefined;
  if (unchanged) return unchanged;
  const out = Buffer.allocUnsafe(capacity);
  let at = 0;
  out[at++] = OPEN_BRACKET;
  for (const { points, middle, key, previous, reused } of plans) {
    const { timestamps, values } = points;
    const rowStarts = new Uint32Array(key === undefined ? 0 : timestamps.length);
    let index = 0;
    if (previous && reused) {
      if (at > 1) at = writeSeparator(out, at);
      const shift = at - (previous.rowStarts[reused.from] as number);
      for (let row = 0; row < reused.count; row++) {
        rowStarts[row] = (previous.rowStarts[reused.from + row] as number) + shift;
      }
      const end = rowEnd(previous, reused.from + reused.count - 1);
      out.set(previous.body.subarray(previous.rowStarts[reused.from], end), at);
      at += end - (previous.rowStarts[reused.from] as number);
      index = reused.count;
    }
    for (; index < timestamps.length; index++) {
      if (at > 1) at = writeSeparator(out, at);
      if (key !== undefined) rowStarts[index] = at;
      out[at++] = OPEN_BRACKET;
      out[at++] = QUOTE;
      at = writeIsoSeconds(out, at, timestamps[index] as number);
      for (let byte = 0; byte < middle.length; byte++) out[at++] = middle[byte] as number;
      at = writePyFloatJson(out, at, values[index] as number);
      out[at++] = CLOSE_BRACKET;
    }
    if (key !== undefined && written && timestamps.length > 0) {
      written.set(key, {
        timestamps: timestamps.slice(),
        valueBits: bitsOf(values).slice(),
        body: out,
        rowStarts,
        rowsEnd: at,
      });
    }
  }
  out[at++] = CLOSE_BRACKET;
  return out.subarray(0, at);
}

function writeSeparator(out: Uint8Array, at: number): number {
  out[at] = COMMA;
  out[at + 1] = SPACE;
  return at + 2;
}

/**
 * The last body itself when it held this one series alone and every row is unchanged (a dashboard
 * reading the same metric again before the next checkpoint): no copy of tens of MB. Bodies are
 * never written after they are returned, so one buffer can answer several requests.
 */
function wholeBody({ points, previous, reused }: RowsPlan): Buffer | undefined {
  if (!previous || !reused || reused.count !== points.timestamps.length) return undefined;
  const alone =
    previous.rowStarts[reused.from] === 1 && // its first row opened the body
    reused.from + reused.count === previous.rowStarts.length &&
    previous.body[previous.rowsEnd] === CLOSE_BRACKET; // and its last row closed it
  return alone ? previous.body.subarray(0, previous.rowsEnd + 1) : undefined;
}

interface RowsPlan {
  readonly points: Points;
  readonly previous: WrittenSeries | undefined;
  readonly reused: { from: number; count: number; bytes: number } | undefined;
}

const bitsOf = (values: Float64Array) => new Int32Array(values.buffer, values.byteOffset, values.length * 2);

function rowEnd(written: WrittenSeries, row: number): number {
  // Rows are written back to back, `, ` between them.
  return row + 1 < written.rowStarts.length ? (written.rowStarts[row + 1] as number) - 2 : written.rowsEnd;
}

/** The rows `points` starts with that `previous` holds unchanged (from its row `from`), and their bytes. */
function reusableRows(
  previous: WrittenSeries,
  points: Points,
): { from: number; count: number; bytes: number } | undefined {
  const { timestamps } = points;
  if (timestamps.length === 0) return undefined;
  const from = lowerBound(previous.timestamps, timestamps[0] as number);
  const bits = bitsOf(points.values);
  const oldBits = previous.valueBits;
  const limit = Math.min(previous.timestamps.length - from, timestamps.length);
  // Mostly every row is still there: one memcmp of each column says so (~1 ms for a year, the loop ~5).
  let count =
    sameBytes(previous.timestamps, from, timestamps, limit) && sameBytes(oldBits, 2 * from, bits, 2 * limit)
      ? limit
      : 0;
  while (
    count < limit &&
    previous.timestamps[from + count] === timestamps[count] &&
    oldBits[2 * (from + count)] === bits[2 * count] &&
    oldBits[2 * (from + count) + 1] === bits[2 * count + 1]
  ) {
    count++;
  }
  if (count === 0) return undefined;
  return { from, count, bytes: rowEnd(previous, from + count - 1) - (previous.rowStarts[from] as number) };
}

/** Whether `older` from element `from` holds the same bytes as `newer`'s first `count` elements. */
function sameBytes(
  older: Float64Array | Int32Array,
  from: number,
  newer: typeof older,
  count: number,
): boolean {
  const size = older.BYTES_PER_ELEMENT;
  const left = Buffer.from(older.buffer, older.byteOffset + from * size, count * size);
  return left.equals(new Uint8Array(newer.buffer, newer.byteOffset, count * size));
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const SPACE = 0x20;
const COLON = 0x3a;
const DIGIT_0 = 0x30;
// `, ["` + `YYYY-MM-DDTHH:MM:SS` + the longest float repr (`-1.2345678901234567e-308`, 24) + `]`.
const MAX_ROW_BYTES = 4 + 19 + 24 + 1;

const asciiBytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');

// Consecutive rows mostly share their day: its `YYYY-MM-DDT` is formatted once.
let prefixDay = Number.NaN;
let prefixBytes: Uint8Array = new Uint8Array(0);

/**
 * `YYYY-MM-DDTHH:MM:SS` of epoch µs truncated to the second (Gnocchi's measure timestamps,
 * `datetime_as_string(unit='s')`) at `at`; returns the end.
 */
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
