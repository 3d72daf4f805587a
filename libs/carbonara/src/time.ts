/**
 * Time is epoch microseconds in a plain number (exact below 2^53, i.e. until year 2255).
 * Bucketing floors from the Unix epoch, as Gnocchi's `round_timestamp` does.
 */
export const US_PER_SECOND = 1_000_000;

/** Gnocchi's `SplitKey.POINTS_PER_SPLIT`: one split object holds at most this many buckets. */
export const POINTS_PER_SPLIT = 3600;

/** Calendar granularities accepted by resample: year, half-year, quarter, month, Sunday-start week. */
export type CalendarUnit = 'Y' | 'H' | 'Q' | 'M' | 'W';

/** A fixed granularity in microseconds, or a calendar unit (resample only). */
export type Granularity = number | CalendarUnit;

export const CALENDAR_UNITS: readonly CalendarUnit[] = ['Y', 'H', 'Q', 'M', 'W'];

const US_PER_DAY = 86_400 * US_PER_SECOND;
// 1970-01-01 was a Thursday: shifting by 4 days puts week boundaries on Sundays.
const SUNDAY_SHIFT_US = 4 * US_PER_DAY;
const US_PER_WEEK = 7 * US_PER_DAY;

/** Gnocchi's `round_timestamp`: start of the fixed-size bucket holding `ts` (µs, non-negative). */
export function floorTimestamp(ts: number, granularity: number): number {
  return ts - (ts % granularity);
}

const MONTHS_PER_BUCKET: Readonly<Record<Exclude<CalendarUnit, 'W'>, number>> = { Y: 12, H: 6, Q: 3, M: 1 };

/** Start of the calendar bucket holding `ts`. */
export function floorToCalendar(ts: number, unit: CalendarUnit): number {
  if (unit === 'W') return floorTimestamp(ts + SUNDAY_SHIFT_US, US_PER_WEEK) - SUNDAY_SHIFT_US;
  const date = new Date(Math.floor(ts / 1000));
  const month = date.getUTCMonth();
  return Date.UTC(date.getUTCFullYear(), month - (month % MONTHS_PER_BUCKET[unit]), 1) * 1000;
}

/** Start of the calendar bucket after the one starting at `start`. */
export function nextCalendarStart(start: number, unit: CalendarUnit): number {
  if (unit === 'W') return start + US_PER_WEEK;
  const date = new Date(start / 1000);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + MONTHS_PER_BUCKET[unit], 1) * 1000;
}

/** Key of the split holding `ts` for a granularity: a multiple of `granularity × 3600` µs. */
export function splitKeyOf(ts: number, granularity: number): number {
  return floorTimestamp(ts, granularity * POINTS_PER_SPLIT);
}

/** Key of the split that follows `key`. */
export function nextSplitKey(key: number, granularity: number): number {
  return key + granularity * POINTS_PER_SPLIT;
}
