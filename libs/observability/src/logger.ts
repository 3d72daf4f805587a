import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** A pino JSON logger whose every line names the component that wrote it. */
export function createLogger(component: string, level = 'info'): Logger {
  return pino({ level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime });
}
