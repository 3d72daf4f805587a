import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { backoffDelay } from '@granary/errors';
import { parse } from 'yaml';
import { infraDown, infraUp } from '../test/infra/infra.ts';
import { forgetPid, isAlive, recordedPid, startDetached, stopProcess } from '../test/infra/process.ts';
import { PROJECT_ROOT, loadInfraSettings } from '../test/infra/settings.ts';
import { RUNNERS } from './build/launch.ts';

/** The long-running apps, in start order (the CLI is a command, not a service). */
const SERVICE_APPS = ['api', 'processor', 'ingest', 'poller'];

/** Where `make up` finds the API answering (a stack already running). */
const apiHealthcheck = () => `http://127.0.0.1:${appPorts('api').api}/healthcheck`;

/** How long `make up` waits for every app's `/readyz`. */
const READY_TIMEOUT_MS = 300_000;

/** Restarts of a crashed app: 1 s doubling to 30 s; a life longer than a minute starts over. */
const RESTART_BACKOFF = {
  retries: Number.POSITIVE_INFINITY,
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  factor: 2,
};
const STABLE_LIFE_MS = 60_000;

/** The service apps that exist in this tree (each has a `main.ts`). */
const runnableApps = () =>
  SERVICE_APPS.filter((app) => existsSync(join(PROJECT_ROOT, 'apps', app, 'main.ts')));

const appConfigFile = (app: string) => join('config', 'local', `${app}.yaml`);

/**
 * The app's ports: those of its config/local file, shifted by `infra.portOffset` so that an
 * isolated stack (test/reliability) does not clash with the shared one.
 */
function appPorts(app: string): { admin: number; api?: number; udp: Record<string, string> } {
  const config = parse(readFileSync(join(PROJECT_ROOT, appConfigFile(app)), 'utf8')) as {
    admin?: { port?: number };
    api?: { port?: number };
    ingest?: { udp?: Record<string, { enabled?: boolean; port?: number }> };
  };
  if (!config.admin?.port) throw new Error(`${appConfigFile(app)} names no admin port`);
  const offset = loadInfraSettings().infra.portOffset;
  // Ingest's UDP inputs (samples, statsd) that the file enables, as GRANARY_INGEST__UDP__<INPUT>__PORT.
  const udp = Object.entries(config.ingest?.udp ?? {}).filter(([, input]) => input.enabled && input.port);
  return {
    admin: config.admin.port + offset,
    ...(config.api?.port ? { api: config.api.port + offset } : {}),
    udp: Object.fromEntries(
      udp.map(([input, { port }]) => [
        `GRANARY_INGEST__UDP__${input.toUpperCase()}__PORT`,
        String(port! + offset),
      ]),
    ),
  };
}

/** The apps whose configuration has a storage section (the others refuse unknown keys). */
const APPS_WITH_STORAGE = new Set(['api', 'processor']);

/** The one place that says how an app is launched (its runner, config file, ports, storage). */
function launch(app: string, env: NodeJS.ProcessEnv): ChildProcess {
  const ports = appPorts(app);
  // The stored series live with the rest of the state, so an isolated stack has its own.
  const storage = join(loadInfraSettings().infra.stateDir, 'storage');
  // The infrastructure's settings are not the app's configuration.
  const own = Object.entries(env).filter(([name]) => !name.startsWith('GRANARY_INFRA__'));
  return spawn(process.execPath, RUNNERS.dist(app), {
    cwd: PROJECT_ROOT,
    env: {
      ...Object.fromEntries(own),
      GRANARY_CONFIG: appConfigFile(app),
      GRANARY_ADMIN__PORT: String(ports.admin),
      ...(ports.api ? { GRANARY_API__PORT: String(ports.api) } : {}),
      ...ports.udp,
      ...(APPS_WITH_STORAGE.has(app) ? { GRANARY_STORAGE__FILE__BASE_PATH: storage } : {}),
    },
    stdio: 'inherit',
  });
}

const readinessUrl = (app: string) => `http://127.0.0.1:${appPorts(app).admin}/readyz`;

/**
 * Keeps an app running: when it exits without being asked to, it is started again after a
 * backoff (said on the console), until `stop` is called. `stop` sends SIGTERM and waits.
 */
function supervise(app: string, env: NodeJS.ProcessEnv) {
  let child: ChildProcess;
  let stopping = false;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  const start = () => {
    console.log(`starting ${app} (${appConfigFile(app)})`);
    const startedAt = Date.now();
    child = launch(app, env);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      if (Date.now() - startedAt > STABLE_LIFE_MS) restarts = 0;
      restarts += 1;
      const delayMs = backoffDelay(restarts, RESTART_BACKOFF);
      console.log(
        `${app} exited (${signal ?? `code ${code}`}); restarting in ${(delayMs / 1000).toFixed(1)} s (restart ${restarts})`,
      );
      restartTimer = setTimeout(start, delayMs);
    });
  };
  start();
  return {
    stop: async () => {
      stopping = true;
      clearTimeout(restartTimer);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

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

  const apps = runnableApps();
  const supervised = apps.map((app) => supervise(app, env));
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
    await Promise.all(supervised.map((app) => app.stop()));
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

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

const apiAnswers = () => answers(apiHealthcheck());

/** Resolves once every app's `/readyz` answers 200; throws naming those that did not in time. */
async function waitUntilReady(apps: readonly string[], stackPid: number, logFile: string): Promise<void> {
  const urls = new Map(apps.map((app) => [app, readinessUrl(app)]));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let waiting = [...urls.keys()];
  while (waiting.length > 0) {
    const answered = await Promise.all(waiting.map((app) => answers(urls.get(app) as string)));
    waiting = waiting.filter((_, position) => !answered[position]);
    if (waiting.length === 0) return;
    if (!isAlive(stackPid) || Date.now() > deadline) {
      const why = isAlive(stackPid) ? `not ready after ${READY_TIMEOUT_MS / 1000} s` : 'the stack exited';
      const names = waiting.map((app) => `${app} (${urls.get(app)})`).join(', ');
      throw new Error(`${why}: ${names}; see ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** `make up`: the same stack in the background (log in .granary/logs/stack.log), once every app is ready. */
async function startInBackground(): Promise<void> {
  const { stateDir } = loadInfraSettings().infra;
  if (await apiAnswers()) {
    throw new Error(`something already serves ${apiHealthcheck()} (a running make run or make up?)`);
  }
  const pid = startDetached('stack', process.execPath, ['--import', 'tsx', join('tools', 'run.ts')], {
    stateDir,
    cwd: PROJECT_ROOT,
  });
  const logFile = join(stateDir, 'logs', 'stack.log');
  // The stack prints its apps once the infrastructure is up; until then nothing can be ready.
  const apps = runnableApps();
  await waitUntilReady(apps, pid, logFile);
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
