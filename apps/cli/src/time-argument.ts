import { parseIsoTimestamp } from '@granary/carbonara';
import { cliErrors } from './errors.ts';

const DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * A point in time from the command line, as epoch milliseconds (Kafka's timestamp resolution):
 * an ISO 8601 date-time as the API reads it (carbonara's parser: without a zone it is UTC, as
 * Ceilometer reads naive timestamps), or an ISO 8601 duration meaning that long before `nowMs`
 * (`PT15M`, `P1DT2H`, as Kafka's own tools).
 */
export function parseTimeArgument(option: string, text: string, nowMs: number): number {
  const duration = DURATION.exec(text);
  if (duration && text !== 'P' && !text.endsWith('T')) {
    const [, days, hours, minutes, seconds] = duration;
    const ms =
      ((Number(days ?? 0) * 24 + Number(hours ?? 0)) * 60 + Number(minutes ?? 0)) * 60_000 +
      Number(seconds ?? 0) * 1000;
    return nowMs - Math.round(ms);
  }
  const micros = parseIsoTimestamp(text);
  if (micros === undefined) {
    throw cliErrors(
      'CLI_USAGE',
      `--${option} '${text}' is neither an ISO 8601 time (2026-11-21T06:00:00Z) nor a duration ago (PT15M, P1D)`,
    );
  }
  return Math.floor(micros / 1000);
}
