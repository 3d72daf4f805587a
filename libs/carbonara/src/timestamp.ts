import { timespanSeconds } from './timespan.ts';

/**
 * Gnocchi's input forms for instants (`utils.to_timestamp`), in epoch µs. The one parser for the
 * API, the index's filters and the publisher's Ceilometer timestamps; `now` is given, so it stays pure.
 */

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
/** Epoch µs are exact in a double up to 2^53 (year 2255), Granary's ceiling for time (ARCHITECTURE.md). */
const MAX_MICROS = Number.MAX_SAFE_INTEGER;

export type TimestampResult = { micros: number } | { error: string };

/**
 * Gnocchi's `utils.to_timestamp`: epoch seconds (number or numeric text), `+`/`-` followed by a
 * timespan relative to `now`, `now`, or ISO 8601 (naive means UTC). Before the epoch or after 2255
 * is refused (Gnocchi's message for the former).
 */
export function parseTimestamp(value: unknown, now: number): TimestampResult {
  const micros = readTimestamp(value, now);
  if (micros === undefined) return { error: `Unable to parse timestamp ${String(value)}` };
  if (micros < 0) return { error: 'Timestamp must be after Epoch' };
  if (micros > MAX_MICROS) return { error: `Timestamp ${String(value)} is too far in the future` };
  return { micros };
}

/**
 * The same forms without the range checks (a filter may name 1950): epoch µs, or undefined when the
 * value is none of the forms.
 */
export function readTimestamp(value: unknown, now: number): number | undefined {
  let micros: number | undefined;
  if (typeof value === 'number') micros = Math.round(value * 1e6);
  else if (typeof value === 'string') {
    const text = value.trim();
    if (NUMBER.test(text)) micros = Math.round(Number(text) * 1e6);
    else if (text.startsWith('-') || text.startsWith('+')) {
      const span = timespanSeconds(text.slice(1));
      if (span !== undefined) micros = now + (text.startsWith('-') ? -1 : 1) * Math.round(span * 1e6);
    } else if (text.toLowerCase() === 'now') micros = now;
    else micros = parseIsoTimestamp(text);
  }
  return micros !== undefined && Number.isFinite(micros) ? micros : undefined;
}

/**
 * Which of Gnocchi's timestamp forms a value is written in: epoch seconds (a number or numeric text),
 * relative to now (`+`/`-` and a timespan), or a date (ISO 8601 or `now`). Gnocchi reads a whole
 * measure list in the form of its first timestamp (`utils.to_timestamps`).
 */
export function timestampForm(value: unknown): 'epoch' | 'relative' | 'date' {
  if (typeof value === 'number') return 'epoch';
  const text = typeof value === 'string' ? value.trim() : '';
  if (NUMBER.test(text)) return 'epoch';
  return text.startsWith('-') || text.startsWith('+') ? 'relative' : 'date';
}

/** ISO 8601 (date, or date and time with `T` or a space; naive means UTC) in epoch µs; impossible dates are undefined. */
export function parseIsoTimestamp(text: string): number | undefined {
  const m = ISO_8601.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone] = m;
  const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
  // Not Date.UTC: it reads years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(fields[0], fields[1], fields[2]);
  date.setUTCHours(fields[3], fields[4], fields[5]);
  // Dates roll over (Feb 30 → Mar 2); Python refuses such dates.
  if (
    date.getUTCMonth() !== fields[1] ||
    date.getUTCDate() !== fields[2] ||
    fields[3] > 23 ||
    fields[4] > 59 ||
    fields[5] > 59
  ) {
    return undefined;
  }
  const micros = date.getTime() * 1000 + Number(fraction.padEnd(6, '0').slice(0, 6));
  return micros - zoneOffsetMinutes(zone) * 60_000_000;
}

function zoneOffsetMinutes(zone: string | undefined): number {
  if (!zone || zone === 'Z' || zone === 'z') return 0;
  const digits = zone.slice(1).replace(':', '');
  return (zone.startsWith('-') ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
}
