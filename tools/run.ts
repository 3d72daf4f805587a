import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { infraDown, infraUp } from '../test/infra/infra.ts';
import {
  forgetPid,
  isAlive,
  recordedPid,
  startDetached,
  stopProcess,
  waitUntil,
} from '../test/infra/process.ts';
import { PROJECT_ROOT, loadInfraSettings } from '../test/infra/settings.ts';
import { RUNNERS } from './build/launch.ts';

/** The long-running apps, in start order (the CLI is a command, not a service). */
const SERVICE_APPS = ['api', 'processor', 'ingest', 'poller'];

/** Where `make up` finds the API answering once the stack is started. */
const API_HEALTHCHECK = 'http://127.0.0.1:8041/healthcheck';

/**
 * `make run`: bring the infrastructure up, start every app that has a `main.ts`, with the
 * endpoints of `.granary/infra.env` in its environment, and stop everything on Ctrl-C.
 */
async function runInForeground(): Promise<void> {
  const settings = loadInfraSettings();
  const state = await infraUp(settings, { allowContainers: false, report: (line) => console.log(line) });
  const envFile = readFileSync(join(settings.infra.stateDir, 'infra.env'), 'utf8');
  const endpoints = Object.fromEntries(
    envFile
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const env = { ...process.env, ...endpoints };
  // Ingest creates resources as soon as it starts, so the index must be migrated and seeded first.
  const upgrade = spawnSync(process.execPath, [...RUNNERS.dist('cli'), 'index', 'upgrade', '--seed'], {
    cwd: PROJECT_ROOT,
    env,
    stdio: 'inherit',
  });
  if (upgrade.status !== 0) throw new Error('granary index upgrade failed');

  const apps = SERVICE_APPS.filter((app) => existsSync(join(PROJECT_ROOT, 'apps', app, 'main.ts')));
  const children: ChildProcess[] = apps.map((app) => {
    console.log(`starting ${app} (config/local/${app}.yaml)`);
    return spawn(process.execPath, RUNNERS.dist(app), {
      cwd: PROJECT_ROOT,
      env: { ...env, GRANARY_CONFIG: join('config', 'local', `${app}.yaml`) },
      stdio: 'inherit',
    });
  });
  console.log(
    apps.length > 0
      ? `Granary is running (${apps.join(', ')}). Ctrl-C stops everything.`
      : 'Infrastructure is up; no app has a main.ts yet. Ctrl-C stops everything.',
  );
  for (const [key, value] of Object.entries(state.endpoints)) console.log(`  ${key}: ${value}`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping…');
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(
      children.map((child) =>
        child.exitCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)),
      ),
    );
    // Services that were already running before `make run` (e.g. `make infra-up`) stay up.
    const started = (Object.keys(state.origins) as (keyof typeof state.origins)[]).filter(
      (key) => state.origins[key] === 'started',
    );
    await infraDown(settings, { report: (line) => console.log(line), only: started });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  // Keep the process alive until a signal arrives, even with no app to wait for.
  setInterval(() => undefined, 1 << 30);
}

async function apiAnswers(): Promise<boolean> {
  try {
    return (await fetch(API_HEALTHCHECK, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

/** `make up`: the same stack in the background (log in .granary/logs/stack.log), once the API answers. */
async function startInBackground(): Promise<void> {
  const { stateDir } = loadInfraSettings().infra;
  if (await apiAnswers()) {
    throw new Error(`something already serves ${API_HEALTHCHECK} (a running make run or make up?)`);
  }
  const pid = startDetached('stack', process.execPath, ['--import', 'tsx', join('tools', 'run.ts')], {
    stateDir,
    cwd: PROJECT_ROOT,
  });
  const logFile = join(stateDir, 'logs', 'stack.log');
  await waitUntil('Granary', apiAnswers, { timeoutMs: 300_000, pid, logFile });
  console.log(`Granary is up (pid ${pid}, log ${logFile}); make down stops it.`);
}

/** `make down`: stop what `make up` started, as Ctrl-C would. */
async function stopBackground(): Promise<void> {
  const { stateDir } = loadInfraSettings().infra;
  const pid = recordedPid(stateDir, 'stack');
  if (pid === undefined) {
    console.log('Granary is not running in the background.');
    return;
  }
  // Its own shutdown stops the apps, then the services it started (Kafka may take a while).
  await stopProcess(pid, 120_000);
  forgetPid(stateDir, 'stack');
  console.log(isAlive(pid) ? `pid ${pid} is still running` : 'Granary stopped.');
}

const COMMANDS: Record<string, () => Promise<void>> = {
  foreground: runInForeground,
  up: startInBackground,
  down: stopBackground,
};

const command = COMMANDS[process.argv[2] ?? 'foreground'];
if (!command) {
  console.error('usage: tsx tools/run.ts [foreground|up|down]');
  process.exit(2);
}
command().catch((err: unknown) => {
  console.error(`run: ${(err as Error).message}`);
  process.exit(1);
});
