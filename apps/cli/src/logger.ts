import type { Logger } from '@granary/observability';
import pino from 'pino';

/**
 * Logs of the libraries the CLI drives (processing, index), on stderr: stdout carries results
 * (JSON for scripts), so nothing else may be written there.
 */
export function stderrLogger(level: string): Logger {
  return pino(
    { level, base: { component: 'cli' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination(2),
  );
}
