import { join } from 'node:path';

/** How each way of running an app starts it: node's arguments, from the project root. */
export const RUNNERS = {
  /**
   * Production: the bundle `make dist` builds (docs/adr/0017-running-production-code.md). kafkajs
   * 2.2.4 schedules negative timeouts, which node has always run as 1 ms and Node 24 also warns
   * about on every request burst.
   */
  dist: (app: string, distDirectory = 'dist') => [
    '--enable-source-maps',
    '--disable-warning=TimeoutNegativeWarning',
    join(distDirectory, `${app}.mjs`),
  ],
  /** The TypeScript sources, transpiled at start-up (tests, and the start-up bench's baseline). */
  tsx: (app: string) => ['--import', 'tsx', join('apps', app, 'main.ts')],
} as const;

export type Runner = keyof typeof RUNNERS;
