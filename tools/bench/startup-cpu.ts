/**
 * Start-up CPU per app (issue 15: at most 1 CPU-second): start each service app against the local
 * infrastructure, wait for its /readyz, read the CPU time the process has used from
 * /proc/<pid>/stat, stop it. `tsx tools/bench/startup-cpu.ts [dist] [tsx]` compares the runners.
 */
import { randomUUID } from 'node:crypto';
import { PROJECT_ROOT } from '../../test/infra/settings.ts';
import { startIsolatedApp } from '../build/isolated-app.ts';
import { RUNNERS, type Runner } from '../build/launch.ts';
import { cpuSeconds, loadAverage } from './proc.ts';

const SERVICE_APPS = ['api', 'processor', 'ingest', 'poller'];
const READY_TIMEOUT_MS = 120_000;

async function measure(app: string, runner: Runner): Promise<{ cpu: number; wallMs: number }> {
  const started = performance.now();
  const running = await startIsolatedApp(app, {
    cwd: PROJECT_ROOT,
    nodeArguments: RUNNERS[runner](app),
    scope: `granary-bench-startup-${randomUUID().slice(0, 8)}`,
    env: { ...process.env, GRANARY_LOG__LEVEL: 'warn' },
  });
  try {
    await running.waitUntilReady(READY_TIMEOUT_MS);
    return {
      cpu: cpuSeconds(running.child.pid as number) ?? Number.NaN,
      wallMs: performance.now() - started,
    };
  } finally {
    await running.stop();
  }
}

const requested = process.argv.slice(2);
const runners = (requested.length > 0 ? requested : ['dist']) as Runner[];
for (const runner of runners) {
  if (!(runner in RUNNERS))
    throw new Error(`unknown runner ${runner}: use ${Object.keys(RUNNERS).join(' or ')}`);
}
const [load1] = loadAverage().split(' ');
console.log(
  `start-up CPU per app, to /readyz (node ${process.version}, load average ${load1}; limit 1 CPU-second)`,
);
for (const app of SERVICE_APPS) {
  const cells: string[] = [];
  for (const runner of runners) {
    const { cpu, wallMs } = await measure(app, runner);
    cells.push(`${runner} ${cpu.toFixed(2)} CPU s (${(wallMs / 1000).toFixed(1)} s wall)`);
  }
  console.log(`  ${app.padEnd(10)} ${cells.join('   ')}`);
}
