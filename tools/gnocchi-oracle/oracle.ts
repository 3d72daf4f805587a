import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { run, stopProcess, waitUntil } from '../../test/infra/process.ts';
import { PROJECT_ROOT, loadInfraSettings } from '../../test/infra/settings.ts';
import { ensureVenv } from '../python-venv.ts';

/**
 * The real Gnocchi 4.7.1 from PyPI, run beside Granary as an oracle: the differential test
 * (tools/gnocchi-oracle/diff) compares Granary's answers with it, and `make bench-vs-gnocchi`
 * measures it. Indexer: a database of its own on the local PostgreSQL; storage and incoming: the
 * file driver under `stateDir`; API: uwsgi in HTTP mode as `gnocchi-api` would start it, basic auth
 * (Gnocchi's basic mode takes the user name of `Authorization: Basic` and ignores the password, so
 * `admin:granary` works on both systems); archive policies: Gnocchi's defaults from `gnocchi-upgrade`.
 */

const REQUIREMENTS = join(import.meta.dirname, 'requirements.txt');
const VENV = join(PROJECT_ROOT, '.granary/tools/gnocchi-venv');
const START_TIMEOUT_MS = 120_000;
/** In the state dir: what stopGnocchiAt needs. */
const RECORD = 'oracle.json';

interface OracleRecord {
  /** Process-group leaders: uwsgi's master, metricd's master. */
  groups: number[];
  serverUrl: string;
  database: string;
}

export interface GnocchiOracleOptions {
  /** Storage, incoming measures, config and logs go here (emptied first). */
  stateDir: string;
  apiPort: number;
  /** uwsgi processes (default 2). */
  apiWorkers?: number;
  /** Threads per uwsgi process (default 2). */
  apiThreads?: number;
  /** `gnocchi-metricd` workers (default 1). */
  metricdWorkers?: number;
  /** Seconds between metricd's scheduling passes (Gnocchi's default: 60). */
  metricProcessingDelay?: number;
  /**
   * HTTP keep-alive, as `gnocchi-api` runs uwsgi (default true). Without it each answer ends with
   * the connection: uwsgi's router sends Gnocchi's bodiless 500s without a length, and on a kept-alive
   * connection the client then waits for a body that never comes.
   */
  keepAlive?: boolean;
  /** A PostgreSQL server URL; the oracle creates its own database there. Default: the local infra's. */
  databaseUrl?: string;
}

export interface GnocchiOracle {
  /** e.g. `http://127.0.0.1:18041` (the API is under `/v1`). */
  url: string;
  /** The uwsgi master, its workers and its HTTP router. */
  apiPids(): number[];
  /** metricd's master and its workers. */
  metricdPids(): number[];
  /** Stops both process groups and drops the database. */
  stop(): Promise<void>;
}

/** Installs Gnocchi 4.7.1 (pinned in requirements.txt) once into a venv; returns the venv's directory. */
export async function ensureGnocchiInstalled(): Promise<string> {
  return dirname(ensureVenv(VENV, REQUIREMENTS));
}

export async function startGnocchi(options: GnocchiOracleOptions): Promise<GnocchiOracle> {
  const venv = await ensureGnocchiInstalled();
  const bin = (name: string) => join(venv, 'bin', name);
  const { stateDir, apiPort } = options;
  await stopGnocchiAt(stateDir);
  rmSync(stateDir, { recursive: true, force: true });
  const logs = join(stateDir, 'logs');
  for (const dir of [logs, join(stateDir, 'storage'), join(stateDir, 'incoming')])
    mkdirSync(dir, { recursive: true });

  const serverUrl = options.databaseUrl ?? localDatabaseUrl();
  const database = `gnocchi_oracle_${process.pid}_${apiPort}`;
  await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await adminQuery(serverUrl, `CREATE DATABASE ${database}`);
  const indexerUrl = new URL(serverUrl);
  indexerUrl.protocol = 'postgresql:';
  indexerUrl.pathname = `/${database}`;

  const config = join(stateDir, 'gnocchi.conf');
  writeFileSync(
    config,
    [
      '[DEFAULT]',
      'debug = false',
      'verbose = false',
      '[indexer]',
      `url = ${indexerUrl.toString()}`,
      '[storage]',
      'driver = file',
      `file_basepath = ${join(stateDir, 'storage')}`,
      '[incoming]',
      'driver = file',
      `file_basepath = ${join(stateDir, 'incoming')}`,
      '[metricd]',
      `workers = ${options.metricdWorkers ?? 1}`,
      `metric_processing_delay = ${options.metricProcessingDelay ?? 60}`,
      '[api]',
      'auth_mode = basic',
      '',
    ].join('\n'),
  );
  const record: OracleRecord = { groups: [], serverUrl, database };
  const remember = () => writeFileSync(join(stateDir, RECORD), JSON.stringify(record));
  remember();
  const stop = () => stopGnocchiAt(stateDir);
  try {
    run(bin('gnocchi-upgrade'), ['--config-file', config]);
    // The arguments `gnocchi-api` gives uwsgi (gnocchi/cli/api.py), with our process and thread counts.
    const api = startGroup(
      bin('uwsgi'),
      [
        '--http',
        `127.0.0.1:${apiPort}`,
        '--master',
        '--enable-threads',
        '--thunder-lock',
        '--hook-master-start',
        'unix_signal:15 gracefully_kill_them_all',
        '--die-on-term',
        '--processes',
        String(options.apiWorkers ?? 2),
        '--threads',
        String(options.apiThreads ?? 2),
        '--lazy-apps',
        '--chdir',
        '/',
        '--wsgi',
        'gnocchi.rest.wsgi',
        '--pyargv',
        `--config-file ${config}`,
        ...(options.keepAlive === false
          ? []
          : ['--so-keepalive', '--http-keepalive', '--add-header', 'Connection: Keep-Alive']),
        '-H',
        venv,
      ],
      join(logs, 'api.log'),
    );
    record.groups.push(api);
    remember();
    const metricd = startGroup(bin('gnocchi-metricd'), ['--config-file', config], join(logs, 'metricd.log'));
    record.groups.push(metricd);
    remember();
    const url = `http://127.0.0.1:${apiPort}`;
    await waitUntil('gnocchi-api', () => answers(url), {
      timeoutMs: START_TIMEOUT_MS,
      logFile: join(logs, 'api.log'),
      pid: api,
    });
    return { url, apiPids: () => groupMembers(api), metricdPids: () => groupMembers(metricd), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Stops the oracle whose state is in `stateDir` (its process groups, then its database), if any:
 * what `stop()` does, also from another process (the CLI's `down`, or a run that was interrupted).
 */
export async function stopGnocchiAt(stateDir: string): Promise<void> {
  const file = join(stateDir, RECORD);
  if (!existsSync(file)) return;
  const record = JSON.parse(readFileSync(file, 'utf8')) as OracleRecord;
  await Promise.all(record.groups.map((pid) => stopProcess(pid, 10_000)));
  await adminQuery(record.serverUrl, `DROP DATABASE IF EXISTS ${record.database} WITH (FORCE)`);
  rmSync(file);
}

/** Starts `command` as the leader of a new process group (its children stay in it); returns its pid. */
function startGroup(command: string, args: string[], logFile: string): number {
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  child.unref();
  return child.pid;
}

/** Every live process whose process group is `leader`'s, read from /proc. */
function groupMembers(leader: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, pgrp, …
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp === leader) members.push(Number(entry));
    } catch {
      // The process exited while we read.
    }
  }
  return members.sort((a, b) => a - b);
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/`, { signal: AbortSignal.timeout(2_000) })).status === 200;
  } catch {
    return false;
  }
}

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** DATABASE_URL when set, else the one the local infrastructure wrote to its infra.env. */
function localDatabaseUrl(): string {
  const settings = loadInfraSettings();
  if (settings.database.url) return settings.database.url;
  const envFile = join(settings.infra.stateDir, 'infra.env');
  const line = existsSync(envFile)
    ? readFileSync(envFile, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('DATABASE_URL='))
    : undefined;
  if (!line) throw new Error(`no DATABASE_URL and no ${envFile}: start the infrastructure (make infra-up)`);
  return line.slice('DATABASE_URL='.length).trim();
}
