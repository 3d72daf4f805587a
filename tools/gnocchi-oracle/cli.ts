import { join } from 'node:path';
import { PROJECT_ROOT } from '../../test/infra/settings.ts';
import { startGnocchi, stopGnocchiAt } from './oracle.ts';

/**
 * `tsx tools/gnocchi-oracle/cli.ts up [port]` starts a Gnocchi 4.7.1 oracle that keeps running in
 * the background (state in .granary/gnocchi-oracle, metricd every second) and prints its URL;
 * `down` stops it and drops its database. For manual use: tests and benches call startGnocchi.
 */

const STATE_DIR = join(PROJECT_ROOT, '.granary/gnocchi-oracle');
const DEFAULT_PORT = 18041;

async function main(): Promise<number> {
  const [command, port] = process.argv.slice(2);
  if (command === 'up') {
    const oracle = await startGnocchi({
      stateDir: STATE_DIR,
      apiPort: port ? Number(port) : DEFAULT_PORT,
      metricProcessingDelay: 1,
    });
    console.log(oracle.url);
    return 0;
  }
  if (command === 'down') {
    await stopGnocchiAt(STATE_DIR);
    return 0;
  }
  console.error('usage: cli.ts up [port] | down');
  return 2;
}

process.exitCode = await main();
