import { readTimestamp, timespanSeconds } from '@granary/carbonara';
import { indexError } from './errors.ts';

/** Time inside Granary: microseconds since the Unix epoch, in a JS number (exact below 2^53). */
export type EpochMicros = number;

/** What callers may pass where a timestamp is expected: epoch µs, a Date, or Gnocchi's text forms. */
export type TimestampInput = EpochMicros | Date | string;

/**
 * Gnocchi's `utils.to_timestamp` (parsed by @granary/carbonara) for the forms the index meets, or
 * a Date; unlike the API's measures, instants before the epoch are accepted (a filter may name
 * 1950). Epoch µs numbers are only accepted through the typed `EpochMicros` parameters of the
 * repositories, never from user text.
 */
export function parseTimestamp(value: unknown): EpochMicros | undefined {
  const micros = readTimestamp(value instanceof Date ? value.getTime() / 1000 : value, Date.now() * 1000);
  return micros === undefined ? undefined : inRange(micros);
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

/** Gnocchi's `to_timespan` (seconds, or pytimeparse-like text such as `"1 hour 30 min"`), in seconds. */
export const parseTimespanSeconds = timespanSeconds;
