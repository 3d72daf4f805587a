/** Gnocchi's input forms for durations (`utils.to_timespan`: a number of seconds or pytimeparse text). */

const UNIT_SECONDS: ReadonlyArray<[RegExp, number]> = [
  [/^(?:w|wks?|weeks?)$/, 604_800],
  [/^(?:d|dys?|days?)$/, 86_400],
  [/^(?:h|hrs?|hours?)$/, 3600],
  [/^(?:m|mins?|minutes?)$/, 60],
  [/^(?:s|secs?|seconds?)$/, 1],
  [/^(?:ms|millis|milliseconds?)$/, 1e-3],
  [/^(?:us|micros|microseconds?)$/, 1e-6],
];
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;
const CLOCK = /^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/;
const PART = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*,?\s*/gy;

export type TimespanResult =
  | { seconds: number }
  | { error: 'Unable to parse timespan' | 'Timespan must be positive' };

/**
 * Seconds from a number, numeric text, `[H:]MM:SS[.f]`, or unit text such as `1 hour`, `10s`,
 * `1h30m`. Zero and negative durations are refused unless `allowNonPositive` (Gnocchi's
 * `allow_le_zero`), with Gnocchi's messages.
 */
export function parseTimespan(value: unknown, allowNonPositive = false): TimespanResult {
  const seconds = timespanSeconds(value);
  if (seconds === undefined) return { error: 'Unable to parse timespan' };
  if (!allowNonPositive && seconds <= 0) return { error: 'Timespan must be positive' };
  return { seconds };
}

/** Seconds from any of those forms, of any sign; undefined when the text is none of them. */
export function timespanSeconds(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (NUMBER.test(text)) return Number(text);
  const clock = CLOCK.exec(text);
  if (clock) return Number(clock[1] ?? 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3]);
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.replace(/^[+-]\s*/, '');
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < body.length) {
    const start = PART.lastIndex;
    const part = PART.exec(body);
    if (!part || part.index !== start) return undefined;
    const unit = UNIT_SECONDS.find(([pattern]) => pattern.test(part[2]!));
    if (!unit) return undefined;
    total += Number(part[1]) * unit[1];
  }
  return body.length > 0 ? sign * total : undefined;
}
