import { spawnSync } from 'node:child_process';
/**
 * Start-up CPU per app (issue 15: at most 1 CPU-second): start each service app against the local
 * infrastructure, wait for its /readyz, read the CPU time the process has used from
 * /proc/<pid>/stat, stop it. `tsx tools/bench/startup-cpu.ts [dist] [tsx]` compares the runners.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PROJECT_ROOT } from '../../test/infra/settings.ts';
import { startIsolatedApp } from '../build/isolated-app.ts';
import { RUNNERS, type Runner } from '../build/launch.ts';

const SERVICE_APPS = ['api', 'processor', 'ingest', 'poller'];
const READY_TIMEOUT_MS = 120_000;
const CLOCK_TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim());

/** User + system CPU seconds of a live process (fields 14 and 15 of /proc/<pid>/stat). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

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
    return { cpu: cpuSeconds(running.child.pid as number), wallMs: performance.now() - started };
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
const [load1] = readFileSync('/proc/loadavg', 'utf8').split(' ');
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
