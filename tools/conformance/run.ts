import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSection, loadConfig } from '@granary/config';
import { Type } from '@sinclair/typebox';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';

/**
 * `make conformance`: runs every gabbi file of a directory against a freshly reset local
 * deployment — per file a new PostgreSQL database and a new API process configured as Gnocchi's
 * test fixture (no archive policies, max limit 7, CORS origin http://foobar.com, basic auth) —
 * and prints per-file results, the failed tests with the reason, and `N passed, N failed` last.
 * Every test of a file counts; one that could not run counts as failed.
 */

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(HERE, '../..');
const VENV = join(ROOT, '.granary/tools/conformance-venv');
const LOG_DIR = join(ROOT, '.granary/logs/conformance');
const API_START_TIMEOUT_MS = 60_000;
const FILE_TIMEOUT_MS = 600_000;

interface TestOutcome {
  name: string;
  passed: boolean;
  reason: string;
}

const ToolConfig = Type.Object({ database: DatabaseSection });

async function main(): Promise<number> {
  const directory = resolve(process.argv[2] ?? join(ROOT, '../shared/conformance/gabbits'));
  const { database } = loadConfig(ToolConfig);
  const python = ensureVenv();
  const files = readdirSync(directory)
    .filter((name) => name.endsWith('.yaml'))
    .sort();
  mkdirSync(LOG_DIR, { recursive: true });

  let passed = 0;
  let failed = 0;
  for (const [i, file] of files.entries()) {
    const outcomes = await runFile(join(directory, file), python, database.url, i);
    const filePassed = outcomes.filter((o) => o.passed).length;
    passed += filePassed;
    failed += outcomes.length - filePassed;
    console.log(`${file}: ${filePassed} passed, ${outcomes.length - filePassed} failed`);
    for (const o of outcomes.filter((o) => !o.passed)) console.log(`  ✗ ${o.name} — ${o.reason}`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

/** The venv with the pinned gabbi; rebuilt when requirements.txt changes. */
function ensureVenv(): string {
  const requirements = join(HERE, 'requirements.txt');
  const digest = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const stamp = join(VENV, '.requirements.sha256');
  const python = join(VENV, 'bin/python');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return python;
  const run = (command: string, args: string[]) => {
    const result = spawnSync(command, args, { stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status})`);
  };
  run('python3', ['-m', 'venv', VENV]);
  run(join(VENV, 'bin/pip'), ['install', '--quiet', '--disable-pip-version-check', '-r', requirements]);
  writeFileSync(stamp, digest);
  return python;
}

async function runFile(
  path: string,
  python: string,
  databaseUrl: string,
  ordinal: number,
): Promise<TestOutcome[]> {
  const names = testNames(path);
  const failAll = (reason: string): TestOutcome[] => names.map((name) => ({ name, passed: false, reason }));
  const dbName = `granary_conformance_${process.pid}_${ordinal}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  let api: ChildProcess | undefined;
  try {
    await admin.query(`CREATE DATABASE ${dbName}`);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const log = createWriteStream(join(LOG_DIR, `${basename(path, '.yaml')}.log`));
    api = spawn(process.execPath, ['--import', 'tsx', 'apps/api/main.ts'], {
      cwd: ROOT,
      // The child needs the whole environment (PATH, infra endpoints); the fixture settings go on top.
      env: {
        ...process.env,
        DATABASE_URL: withDatabase(databaseUrl, dbName),
        GRANARY_API__HOST: '127.0.0.1',
        GRANARY_API__PORT: String(port),
        GRANARY_API__MAX_LIMIT: '7',
        GRANARY_API__AUTH: 'basic',
        GRANARY_API__CORS__ALLOWED_ORIGINS: '["http://foobar.com"]',
        GRANARY_INDEX__SEED: 'empty',
        // Gnocchi's fixture processes measures in-process; here that needs processors, not wired yet.
        GRANARY_MEASURES__WRITES: 'false',
        GRANARY_LOG__LEVEL: 'warn',
        GRANARY_ADMIN__PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    api.stdout?.pipe(log);
    api.stderr?.pipe(log);
    const started = await waitForHealth(url, api);
    if (started !== true) return failAll(`API did not start: ${started}`);
    const run = spawnSync(python, [join(HERE, 'runner.py'), path, url], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: FILE_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
    const last = run.stdout?.trim().split('\n').at(-1) ?? '';
    try {
      const { tests } = JSON.parse(last) as { tests: TestOutcome[] };
      if (tests.length !== names.length) {
        return failAll(`runner reported ${tests.length} of ${names.length} tests`);
      }
      return tests;
    } catch {
      const why = (run.stderr ?? '').trim().split('\n').at(-1) || run.error?.message || `exit ${run.status}`;
      return failAll(`runner failed: ${why}`);
    }
  } finally {
    if (api && api.exitCode === null) {
      const exited = new Promise((done) => api?.once('exit', done));
      api.kill('SIGTERM');
      await exited;
    }
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

/** Test names straight from the YAML, so a file the runner cannot load still counts every test. */
function testNames(path: string): string[] {
  try {
    const doc = parseYaml(readFileSync(path, 'utf8'), { uniqueKeys: false, logLevel: 'silent' }) as {
      tests?: { name?: string }[];
    };
    return (doc.tests ?? []).map((test, i) => test.name ?? `test ${i + 1}`);
  } catch (err) {
    throw new Error(`${path}: unreadable YAML: ${(err as Error).message}`);
  }
}

function withDatabase(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** True once `/healthcheck` answers 200; otherwise why not (exit or timeout). */
async function waitForHealth(url: string, api: ChildProcess): Promise<true | string> {
  const deadline = Date.now() + API_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (api.exitCode !== null) return `exited with ${api.exitCode} (see ${LOG_DIR})`;
    try {
      if ((await fetch(`${url}/healthcheck`)).status === 200) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  return `no healthy answer within ${API_START_TIMEOUT_MS / 1000}s (see ${LOG_DIR})`;
}

process.exitCode = await main();
