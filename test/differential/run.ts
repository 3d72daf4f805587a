import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../tools/build/isolated-app.ts';
import { startGnocchi } from '../../tools/gnocchi-oracle/oracle.ts';
import { PROJECT_ROOT } from '../infra/settings.ts';
import { startGranaryStack } from './granary-stack.ts';
import { type Difference, compareCase, runCase } from './harness.ts';
import { generateCase } from './workload.ts';

/** config/local/users.yaml's development user; Gnocchi's basic mode takes any password. */
const AUTHORIZATION = `Basic ${Buffer.from('admin:granary').toString('base64')}`;
/** One directory per run: a concurrent run (make diff-gnocchi beside make test) must not stop ours. */
const STATE_DIR = join(PROJECT_ROOT, '.granary/diff-gnocchi', `run-${process.pid}`);

export interface DifferentialResult {
  cases: number;
  requests: number;
  differences: Difference[];
}

/**
 * Starts a Gnocchi 4.7.1 oracle and a Granary stack, feeds both the seeded cases `seed`,
 * `seed + 1`, … and returns every read on which they differ. `progress` hears about each case.
 * Both systems' logs stay in the run's state directory when a difference is unexplained.
 */
export async function runDifferential(options: {
  cases: number;
  seed: number;
  infra: { kafkaBrokers: string[]; databaseUrl: string; schemaRegistryUrl: string };
  progress?: (line: string) => void;
}): Promise<DifferentialResult> {
  mkdirSync(STATE_DIR, { recursive: true });
  let keep = true;
  const oracle = await startGnocchi({
    stateDir: join(STATE_DIR, 'gnocchi'),
    apiPort: await freePort(),
    databaseUrl: options.infra.databaseUrl,
    // Each batch is processed by `refresh=true` before the next: metricd must not split one.
    metricProcessingDelay: 3600,
    keepAlive: false,
  });
  try {
    const granary = await startGranaryStack({ env: options.infra, logFile: join(STATE_DIR, 'granary.log') });
    try {
      const differences: Difference[] = [];
      let requests = 0;
      for (let i = 0; i < options.cases; i++) {
        const c = generateCase(options.seed + i);
        const expected = await runCase({ name: 'Gnocchi', url: oracle.url, authorization: AUTHORIZATION }, c);
        const actual = await runCase({ name: 'Granary', url: granary.url, authorization: AUTHORIZATION }, c);
        const found = compareCase(c.seed, expected, actual);
        requests += expected.length;
        differences.push(...found);
        options.progress?.(`seed ${c.seed}: ${expected.length} requests, ${found.length} differences`);
      }
      if (differences.every((d) => d.explanation !== undefined)) keep = false;
      return { cases: options.cases, requests, differences };
    } finally {
      await granary.stop();
    }
  } finally {
    await oracle.stop();
    if (!keep) rmSync(STATE_DIR, { recursive: true, force: true });
  }
}
