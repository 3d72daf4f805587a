import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { aptInstall, commandExists, run, waitUntil } from '../process.ts';
import { PORTS } from '../settings.ts';
import type { LocalService } from './service.ts';

const DATABASE = 'granary';
const USER = 'granary';
const ENDPOINT = `postgres://${USER}@127.0.0.1:${PORTS.postgres}/${DATABASE}`;
/** PostgreSQL refuses to run as root; on these machines (root) it runs as Debian's `postgres` user. */
const SERVER_USER = process.getuid?.() === 0 ? 'postgres' : undefined;

function binDir(): string {
  const debian = '/usr/lib/postgresql/15/bin';
  if (existsSync(join(debian, 'pg_ctl'))) return debian;
  if (commandExists('pg_config')) return run('pg_config', ['--bindir']).trim();
  aptInstall(['postgresql-15']);
  return debian;
}

function pgCtl(stateDir: string, args: string[]): string {
  return run(join(binDir(), 'pg_ctl'), ['-D', join(stateDir, 'data', 'postgres', 'data'), ...args], {
    user: SERVER_USER,
  });
}

/** PostgreSQL 15 from Debian's packages, in a private cluster under the state dir. */
export const postgresService: LocalService = {
  name: 'postgres',
  endpoint: ENDPOINT,

  async answers() {
    const client = new pg.Client({ connectionString: ENDPOINT, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      return (await client.query('select 1 as one')).rows[0]?.one === 1;
    } finally {
      await client.end().catch(() => undefined);
    }
  },

  async start(stateDir) {
    const home = join(stateDir, 'data', 'postgres');
    const data = join(home, 'data');
    mkdirSync(home, { recursive: true });
    if (SERVER_USER) {
      const { uid, gid } = userIds(SERVER_USER);
      chownSync(home, uid, gid);
    }
    if (!existsSync(join(data, 'PG_VERSION'))) {
      run(join(binDir(), 'initdb'), ['-D', data, '-A', 'trust', '-U', USER, '-E', 'UTF8', '--no-locale'], {
        user: SERVER_USER,
      });
    }
    const logFile = join(stateDir, 'logs', 'postgres.log');
    if (SERVER_USER) {
      const { uid, gid } = userIds(SERVER_USER);
      mkdirSync(join(stateDir, 'logs'), { recursive: true });
      run('touch', [logFile]);
      chownSync(logFile, uid, gid);
    }
    pgCtl(stateDir, [
      '-l',
      logFile,
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${PORTS.postgres} -k ${home} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off`,
      'start',
    ]);
    await waitUntil(
      'PostgreSQL',
      async () => {
        await ensureDatabase(DATABASE);
        return true;
      },
      { timeoutMs: 60_000, logFile },
    );
  },

  async stop(stateDir) {
    if (existsSync(join(stateDir, 'data', 'postgres', 'data', 'postmaster.pid'))) {
      pgCtl(stateDir, ['-m', 'fast', '-w', 'stop']);
    }
  },
};

/** Create `database` (a fixed identifier, never user input) in the local cluster if it is missing. */
export async function ensureDatabase(database: string): Promise<{ user: string }> {
  const admin = new pg.Client({
    connectionString: `postgres://${USER}@127.0.0.1:${PORTS.postgres}/postgres`,
    connectionTimeoutMillis: 2000,
  });
  try {
    await admin.connect();
    const exists = await admin.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`create database ${database}`);
    return { user: USER };
  } finally {
    await admin.end().catch(() => undefined);
  }
}

function userIds(user: string): { uid: number; gid: number } {
  return { uid: Number(run('id', ['-u', user]).trim()), gid: Number(run('id', ['-g', user]).trim()) };
}
