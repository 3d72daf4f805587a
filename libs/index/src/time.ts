import { indexError } from './errors.ts';

/** Time inside Granary: microseconds since the Unix epoch, in a JS number (exact below 2^53). */
export type EpochMicros = number;

/** What callers may pass where a timestamp is expected: epoch µs, a Date, or Gnocchi's text forms. */
export type TimestampInput = EpochMicros | Date | string;

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const EPOCH_SECONDS = /^[+-]?\d+(?:\.\d+)?$/;

/**
 * Gnocchi's `utils.to_timestamp` for the forms the index meets: ISO 8601 (naive means UTC), epoch
 * seconds as number or numeric text, `now` and relative `-5 minutes`, or a Date. Epoch µs numbers are only accepted through the
 * typed `EpochMicros` parameters of the repositories, never from user text.
 */
export function parseTimestamp(value: unknown): EpochMicros | undefined {
  if (value instanceof Date) return inRange(value.getTime() * 1000);
  if (typeof value === 'number') return Number.isFinite(value) ? inRange(Math.round(value * 1e6)) : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (EPOCH_SECONDS.test(text)) return parseTimestamp(Number(text));
  // Gnocchi's relative forms: "now", "-5 minutes", "+1 hour".
  if (text === 'now') return Date.now() * 1000;
  if (text.startsWith('-') || text.startsWith('+')) {
    const seconds = parseTimespanSeconds(text.slice(1));
    if (seconds === undefined) return undefined;
    return inRange(Date.now() * 1000 + (text.startsWith('-') ? -1 : 1) * Math.round(seconds * 1e6));
  }
  const m = ISO_8601.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  // Not Date.UTC: it reads years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(s));
  const ms = date.getTime();
  if (
    date.getUTCMonth() !== Number(mo) - 1 ||
    date.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return undefined;
  }
  const micros = ms * 1000 + Number(frac.padEnd(6, '0').slice(0, 6));
  return inRange(micros - zoneOffsetMinutes(zone) * 60_000_000);
}

function zoneOffsetMinutes(zone: string | undefined): number {
  if (!zone || zone === 'Z' || zone === 'z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
}

function inRange(micros: number): EpochMicros | undefined {
  // Epoch µs stay exact only as safe integers (years 1685–2255), which covers any real timestamp.
  return Number.isSafeInteger(micros) ? micros : undefined;
}

/** Normalise a typed timestamp argument; text goes through `parseTimestamp`. */
export function toMicros(value: TimestampInput, what: string): EpochMicros {
  const micros = typeof value === 'number' ? inRange(Math.round(value)) : parseTimestamp(value);
  if (micros === undefined) throw indexError('INDEX_INVALID_RESOURCE', `invalid ${what}: ${String(value)}`);
  return micros;
}

const TIMESPAN_UNITS: Record<string, number> = {
  us: 1e-6,
  microsecond: 1e-6,
  microseconds: 1e-6,
  ms: 1e-3,
  millisecond: 1e-3,
  milliseconds: 1e-3,
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hr: 3600,
  hrs: 3600,
  hour: 3600,
  hours: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
  w: 604800,
  wk: 604800,
  week: 604800,
  weeks: 604800,
};
const TIMESPAN_PART = /(\d+(?:\.\d+)?)\s*([a-z]+)/gy;

/** Gnocchi's `to_timespan` (seconds, or pytimeparse-like text such as `"1 hour 30 min"`), in seconds. */
export function parseTimespanSeconds(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (EPOCH_SECONDS.test(text)) return Number(text);
  const clock = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(text);
  if (clock) return Number(clock[1]) * 3600 + Number(clock[2]) * 60 + Number(clock[3]);
  let total = 0;
  let matched = 0;
  TIMESPAN_PART.lastIndex = 0;
  for (let pos = 0; pos < text.length; ) {
    while (text[pos] === ' ' || text[pos] === ',') pos++;
    if (pos >= text.length) break;
    TIMESPAN_PART.lastIndex = pos;
    const m = TIMESPAN_PART.exec(text);
    const unit = m ? TIMESPAN_UNITS[m[2]!] : undefined;
    if (!m || unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    matched++;
    pos = TIMESPAN_PART.lastIndex;
  }
  return matched > 0 && Number.isFinite(total) ? total : undefined;
}
