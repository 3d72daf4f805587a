import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureVenv } from '../../tools/python-venv.ts';
import {
  forgetPid,
  isAlive,
  recordedPid,
  run,
  startDetached,
  stateFolders,
  stopProcess,
  waitUntil,
} from './process.ts';
import { PORTS, loadInfraSettings } from './settings.ts';

/**
 * Keystone and gunicorn from PyPI, pinned in keystone-requirements.txt (why those versions is said
 * there). With sqlite, Keystone's role assignment fails with 'database is locked' (it writes from two
 * sessions), hence the test PostgreSQL.
 */
const REQUIREMENTS = join(import.meta.dirname, 'keystone-requirements.txt');
/** `keystone-manage bootstrap`'s admin (project admin, role admin, domain Default). */
export const KEYSTONE_ADMIN = {
  username: 'admin',
  password: 'granary-keystone-admin',
  project: 'admin',
} as const;

export interface Keystone {
  /** e.g. `http://127.0.0.1:15000` (the API is under `/v3`). */
  url: string;
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/v3`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { version?: { id?: string } };
    return response.ok && body.version?.id?.startsWith('v3') === true;
  } catch {
    return false;
  }
}

/**
 * A real Keystone on 127.0.0.1:15000 for the tests that need one: reused when one answers there,
 * otherwise installed into a cached venv under the state dir (`.granary/keystone/venv`, a few
 * minutes the first time) and started fresh on `databaseUrl` (an empty PostgreSQL database), with
 * new fernet and credential keys, and `bootstrap` with `KEYSTONE_ADMIN`. Stopping stops only a Keystone this call started.
 */
export async function startKeystone(
  databaseUrl: string,
  options: { tokenExpirationSeconds?: number; stateDir?: string } = {},
): Promise<Keystone> {
  const stateDir = options.stateDir ?? loadInfraSettings().infra.stateDir;
  const url = `http://127.0.0.1:${PORTS.keystone}`;
  if (await answers(url)) return { url, stop: async () => {} };
  const home = join(stateDir, 'keystone');
  const venvBin = ensureVenv(join(home, 'venv'), REQUIREMENTS);
  const bin = (name: string) => join(venvBin, name);
  const earlier = recordedPid(stateDir, 'keystone');
  if (earlier !== undefined && !isAlive(earlier)) forgetPid(stateDir, 'keystone');
  const data = join(home, 'data');
  rmSync(data, { recursive: true, force: true });
  for (const dir of ['fernet-keys', 'credential-keys']) mkdirSync(join(data, dir), { recursive: true });
  const config = join(data, 'keystone.conf');
  writeFileSync(
    config,
    [
      '[DEFAULT]',
      `log_file = ${join(stateFolders(stateDir).logs, 'keystone-app.log')}`,
      '[database]',
      `connection = ${databaseUrl.replace(/^postgres(ql)?:/, 'postgresql+psycopg2:')}`,
      '[fernet_tokens]',
      `key_repository = ${join(data, 'fernet-keys')}`,
      '[credential]',
      `key_repository = ${join(data, 'credential-keys')}`,
      '[token]',
      `expiration = ${options.tokenExpirationSeconds ?? 3600}`,
      '',
    ].join('\n'),
  );
  const user = ['--keystone-user', run('id', ['-un']).trim(), '--keystone-group', run('id', ['-gn']).trim()];
  const manage = (...args: string[]) => run(bin('keystone-manage'), ['--config-file', config, ...args]);
  manage('db_sync');
  manage('fernet_setup', ...user);
  manage('credential_setup', ...user);
  manage(
    'bootstrap',
    '--bootstrap-password',
    KEYSTONE_ADMIN.password,
    '--bootstrap-public-url',
    `${url}/v3`,
    '--bootstrap-region-id',
    'RegionOne',
  );
  // One worker is plenty for a test's sequential calls and keeps start-up short.
  // oslo.config would parse gunicorn's own command line as Keystone's: hide it from the app.
  writeFileSync(
    join(data, 'granary_keystone_wsgi.py'),
    'import sys\nsys.argv = sys.argv[:1]\nfrom keystone.wsgi.api import application  # noqa: E402,F401\n',
  );
  const pid = startDetached(
    'keystone',
    bin('gunicorn'),
    [
      '--bind',
      `127.0.0.1:${PORTS.keystone}`,
      '--workers',
      '1',
      '--chdir',
      data,
      'granary_keystone_wsgi:application',
    ],
    { stateDir, env: { OS_KEYSTONE_CONFIG_FILES: config } },
  );
  const stop = async () => {
    await stopProcess(pid, 10_000);
    forgetPid(stateDir, 'keystone');
  };
  try {
    await waitUntil('keystone', () => answers(url), {
      timeoutMs: 60_000,
      logFile: join(stateFolders(stateDir).logs, 'keystone.log'),
      pid,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}
