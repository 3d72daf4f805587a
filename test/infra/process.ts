import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Folders of the state dir that every service uses. */
export function stateFolders(stateDir: string) {
  const folders = {
    logs: join(stateDir, 'logs'),
    pids: join(stateDir, 'pids'),
    cache: join(stateDir, 'cache'),
    data: join(stateDir, 'data'),
  };
  for (const folder of Object.values(folders)) mkdirSync(folder, { recursive: true });
  return folders;
}

/** Start a long-running process detached from us, its output in `logFile`, its pid recorded. */
export function startDetached(
  name: string,
  command: string,
  args: string[],
  options: { stateDir: string; cwd?: string; env?: Record<string, string> },
): number {
  // A process recorded earlier may still be starting (its `up` was interrupted): wait for that one
  // rather than start a second that would fight it for the port and orphan it.
  const earlier = recordedPid(options.stateDir, name);
  if (earlier !== undefined) return earlier;
  const { logs, pids } = stateFolders(options.stateDir);
  const out = openSync(join(logs, `${name}.log`), 'a');
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  child.unref();
  writeFileSync(join(pids, `${name}.pid`), String(child.pid));
  return child.pid;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid test/infra recorded for a service it started, if that process still runs. */
export function recordedPid(stateDir: string, name: string): number | undefined {
  const file = join(stateDir, 'pids', `${name}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

export function forgetPid(stateDir: string, name: string): void {
  rmSync(join(stateDir, 'pids', `${name}.pid`), { force: true });
}

/** SIGTERM, then SIGKILL after `graceMs`: stops exactly the process group we started. */
export async function stopProcess(pid: number, graceMs = 20_000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) signal('SIGKILL');
  while (isAlive(pid)) await sleep(100);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `check` until it resolves true; fail with the log's last lines after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; logFile?: string; pid?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    if (options.pid !== undefined && !isAlive(options.pid)) break;
    await sleep(500);
  }
  const tail =
    options.logFile && existsSync(options.logFile)
      ? readFileSync(options.logFile, 'utf8').split('\n').slice(-25).join('\n')
      : '';
  const why = options.pid !== undefined && !isAlive(options.pid) ? 'exited' : 'did not answer in time';
  throw new Error(`${what} ${why}${tail ? `; last log lines:\n${tail}` : ''}`);
}

/** Run a command to completion; throw with its output when it fails. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; user?: string; env?: Record<string, string> } = {},
): string {
  const [cmd, argv] =
    options.user && process.getuid?.() === 0
      ? ['runuser', ['-u', options.user, '--', command, ...args]]
      : [command, args];
  const result = spawnSync(cmd, argv, {
    cwd: options.cwd,
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', ...options.env },
  });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout}`,
    );
  }
  return result.stdout;
}

export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;
}

let aptUpdated = false;
/** Install Debian packages when missing; only possible as root, which these machines are. */
export function aptInstall(packages: string[]): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing packages ${packages.join(' ')}: install them (apt-get install ${packages.join(' ')})`,
    );
  }
  if (!aptUpdated) {
    run('apt-get', ['update', '-qq']);
    aptUpdated = true;
  }
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages]);
}

/**
 * Serialize infra up/down across processes (several test runs may start at once): an exclusive
 * lock file holding the owner's pid; a lock whose owner died is taken over.
 */
export async function withStateLock<T>(stateDir: string, action: () => Promise<T>): Promise<T> {
  const lock = join(stateDir, 'infra.lock');
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(lock, 'utf8').trim());
      if (!(owner > 0 && isAlive(owner))) rmSync(lock, { force: true });
      else await sleep(500);
    }
  }
  try {
    return await action();
  } finally {
    rmSync(lock, { force: true });
  }
}
