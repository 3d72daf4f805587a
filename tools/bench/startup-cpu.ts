/**
 * Start-up CPU per app (issue 15: at most 1 CPU-second): start each service app against the local
 * infrastructure, wait for its /readyz, read the CPU time the process has used from
 * /proc/<pid>/stat, stop it. `tsx tools/bench/startup-cpu.ts [dist] [tsx]` compares the runners.
 *
 * Each app gets free ports, its own consumer group and a scratch storage directory, so a bench run
 * neither steals partitions from a running stack nor writes into its storage.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../test/infra/settings.ts';
import { RUNNERS, type Runner } from '../build/launch.ts';

const SERVICE_APPS = ['api', 'processor', 'ingest', 'poller'];
const READY_TIMEOUT_MS = 120_000;
const CLOCK_TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim());

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** User + system CPU seconds of a live process (fields 14 and 15 of /proc/<pid>/stat). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

async function isReady(adminPort: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${adminPort}/readyz`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

async function measure(app: string, runner: Runner): Promise<{ cpu: number; wallMs: number }> {
  const adminPort = await freePort();
  const scratch = mkdtempSync(join(tmpdir(), `granary-startup-${app}-`));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GRANARY_CONFIG: join('config', 'local', `${app}.yaml`),
    GRANARY_ADMIN__PORT: String(adminPort),
    GRANARY_LOG__LEVEL: 'warn',
  };
  if (app === 'api') env.GRANARY_API__PORT = String(await freePort());
  if (app === 'processor') {
    env.GRANARY_PROCESSOR__GROUP_ID = 'granary-bench-startup-processors';
    env.GRANARY_STORAGE__FILE__BASE_PATH = scratch;
  }
  if (app === 'ingest') env.GRANARY_INGEST__GROUP_ID = 'granary-bench-startup-ingest';
  const started = performance.now();
  const child = spawn(process.execPath, RUNNERS[runner](app), { cwd: PROJECT_ROOT, env, stdio: 'inherit' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await isReady(adminPort))) {
      if (exitedEarly) throw new Error(`${app} (${runner}) exited before it was ready`);
      if (Date.now() > deadline) throw new Error(`${app} (${runner}) not ready in ${READY_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { cpu: cpuSeconds(child.pid as number), wallMs: performance.now() - started };
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(scratch, { recursive: true, force: true });
  }
}

const requested = process.argv.slice(2);
const runners = (requested.length > 0 ? requested : ['dist']) as Runner[];
for (const runner of runners) {
  if (!(runner in RUNNERS))
    throw new Error(`unknown runner ${runner}: use ${Object.keys(RUNNERS).join(' or ')}`);
}
console.log(`start-up CPU per app, to /readyz (node ${process.version}; limit 1 CPU-second)`);
for (const app of SERVICE_APPS) {
  const cells: string[] = [];
  for (const runner of runners) {
    const { cpu, wallMs } = await measure(app, runner);
    cells.push(`${runner} ${cpu.toFixed(2)} CPU s (${(wallMs / 1000).toFixed(1)} s wall)`);
  }
  console.log(`  ${app.padEnd(10)} ${cells.join('   ')}`);
}
