import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { infraDown, infraUp } from '../test/infra/infra.ts';
import { PROJECT_ROOT, loadInfraSettings } from '../test/infra/settings.ts';

/** The long-running apps, in start order (the CLI is a command, not a service). */
const SERVICE_APPS = ['api', 'processor', 'ingest', 'poller'];

/**
 * `make run`: bring the infrastructure up, start every app that has a `main.ts`, with the
 * endpoints of `.granary/infra.env` in its environment, and stop everything on Ctrl-C.
 */
async function main(): Promise<void> {
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
  const upgrade = spawnSync(
    process.execPath,
    ['--import', 'tsx', join('apps', 'cli', 'main.ts'), 'index', 'upgrade', '--seed'],
    { cwd: PROJECT_ROOT, env, stdio: 'inherit' },
  );
  if (upgrade.status !== 0) throw new Error('granary index upgrade failed');

  const apps = SERVICE_APPS.filter((app) => existsSync(join(PROJECT_ROOT, 'apps', app, 'main.ts')));
  const children: ChildProcess[] = apps.map((app) => {
    console.log(`starting ${app} (config/local/${app}.yaml)`);
    return spawn(process.execPath, ['--import', 'tsx', join('apps', app, 'main.ts')], {
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

main().catch((err: unknown) => {
  console.error(`run: ${(err as Error).message}`);
  process.exit(1);
});
