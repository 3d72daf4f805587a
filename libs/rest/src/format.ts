/** Output formatting exactly as Gnocchi renders Python values in JSON. */

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

/** Gnocchi's measure timestamps: truncated to the second (`datetime_as_string(unit='s')`). */
export function isoSecondsFromMicros(micros: number): string {
  return `${isoSeconds(Math.floor(micros / 1e6))}+00:00`;
}

const isoSeconds = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString().slice(0, 19);
