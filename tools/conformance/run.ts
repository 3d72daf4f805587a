import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DatabaseSection, KafkaSection, loadConfig } from '@granary/config';
import { type TopicAdmin, type TopicSpec, createKafkaClient } from '@granary/kafka';
import { Type } from '@sinclair/typebox';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { TEST_USERS_FILE } from '../../test/infra/settings.ts';
import { ensureVenv } from '../python-venv.ts';
import { type PrefixProxy, startPrefixProxy } from './prefix-proxy.ts';

/**
 * `make conformance`: runs every gabbi file of a directory against a freshly reset local
 * deployment — per file a new PostgreSQL database and a new API process configured as Gnocchi's
 * test fixture (no archive policies, max limit 7, CORS origin http://foobar.com, basic auth) and a
 * processor beside it, over the file's own measures topic and storage directory, so that measures
 * POSTed by a test become readable as in Gnocchi's fixture — and prints per-file results, the failed tests with the reason, and `N passed, N failed` last.
 * Every test of a file counts; one that could not run counts as failed.
 */

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(HERE, '../..');
const VENV = join(ROOT, '.granary/tools/conformance-venv');
const LOG_DIR = join(ROOT, '.granary/logs/conformance');
const API_START_TIMEOUT_MS = 60_000;
const FILE_TIMEOUT_MS = 600_000;
const STORAGE_DIR = join(ROOT, '.granary/conformance');
const SHARED_GABBITS = join(ROOT, '../shared/conformance/gabbits');
/** Gnocchi's gabbi loader mounts the API here (test_gabbi.py PREFIX); `$NETLOC` includes it. */
const MOUNT_PREFIX = '/gnocchi';
/** Few partitions: a file writes to a handful of metrics, and each partition is claimed at start. */
const MEASURE_PARTITIONS = 2;

interface TestOutcome {
  name: string;
  passed: boolean;
  reason: string;
}

const execFileAsync = promisify(execFile);
const ToolConfig = Type.Object({ database: DatabaseSection, kafka: KafkaSection });

/** A directory of gabbi files, run file by file; `label` names it in the output and the logs. */
interface Suite {
  label: string;
  directory: string;
}

async function main(): Promise<number> {
  const began = Date.now();
  const { database, kafka } = loadConfig(ToolConfig);
  const admin = createKafkaClient(kafka).createAdmin();
  await admin.connect();
  const bin = ensureVenv(VENV, join(HERE, 'requirements.txt'), { exactly: true });
  const python = join(bin, 'python');
  const explicit = process.argv[2];
  const suites: Suite[] = explicit
    ? [{ label: basename(resolve(explicit)), directory: resolve(explicit) }]
    : [{ label: 'shared subset', directory: SHARED_GABBITS }, packageSuite(python)];

  let passed = 0;
  let failed = 0;
  let ordinal = 0;
  const totals: string[] = [];
  const runs = new Map<string, { where: string; outcomes: TestOutcome[] }>();
  for (const suite of suites) {
    console.log(`== ${suite.label}: ${suite.directory}`);
    const logDir = join(LOG_DIR, suite.label.replaceAll(/[^\w.-]+/g, '-'));
    mkdirSync(logDir, { recursive: true });
    const files = readdirSync(suite.directory)
      .filter((name) => name.endsWith('.yaml'))
      .sort();
    let suitePassed = 0;
    let suiteFailed = 0;
    let reusedFiles = 0;
    for (const file of files) {
      const path = join(suite.directory, file);
      // The shared subset's files are copies of Gnocchi's: the same bytes get the same fresh
      // deployment, so each is run once and its verdicts counted in every suite holding it.
      const digest = createHash('sha256').update(readFileSync(path)).digest('hex');
      const earlier = runs.get(digest);
      const outcomes =
        earlier?.outcomes ?? (await runFile(path, python, database.url, admin, ordinal++, logDir));
      if (earlier) reusedFiles++;
      else runs.set(digest, { where: `${suite.label}/${file}`, outcomes });
      const filePassed = outcomes.filter((o) => o.passed).length;
      suitePassed += filePassed;
      suiteFailed += outcomes.length - filePassed;
      const reused = earlier ? ` (the same file as ${earlier.where}: its run counted again)` : '';
      console.log(`${file}: ${filePassed} passed, ${outcomes.length - filePassed} failed${reused}`);
      for (const o of outcomes.filter((o) => !o.passed || o.reason)) {
        console.log(`  ${o.passed ? '✓' : '✗'} ${o.name} — ${o.reason}`);
      }
    }
    const reuse = reusedFiles > 0 ? `, ${reusedFiles} identical to earlier ones` : '';
    totals.push(
      `${suite.label}: ${suitePassed} passed, ${suiteFailed} failed (${files.length} files${reuse})`,
    );
    passed += suitePassed;
    failed += suiteFailed;
  }
  await admin.disconnect();
  for (const line of totals) console.log(line);
  console.log(`took ${Math.round((Date.now() - began) / 1000)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

/**
 * Gnocchi's own functional suite, inside the package the venv installed from PyPI (pinned in
 * requirements.txt): found without importing the package, which would need its dependencies.
 */
function packageSuite(python: string): Suite {
  const find = spawnSync(
    python,
    [
      '-c',
      'import importlib.metadata as m, importlib.util as u; ' +
        "print(m.version('gnocchi')); print(u.find_spec('gnocchi').submodule_search_locations[0])",
    ],
    { encoding: 'utf8' },
  );
  if (find.status !== 0) throw new Error(`gnocchi is not installed in ${VENV}: ${find.stderr.trim()}`);
  const [version, location] = find.stdout.trim().split('\n');
  return { label: `gnocchi ${version}`, directory: join(location!, 'tests/functional/gabbits') };
}

async function runFile(
  path: string,
  python: string,
  databaseUrl: string,
  admin: TopicAdmin,
  ordinal: number,
  logDir: string,
): Promise<TestOutcome[]> {
  const names = testNames(path);
  const failAll = (reason: string): TestOutcome[] => names.map((name) => ({ name, passed: false, reason }));
  const deployment = `${process.pid}_${ordinal}`;
  const dbName = `granary_conformance_${deployment}`;
  const topics = {
    measures: topicSpec(`granary.conformance.${deployment}.measures`),
    measuresDeadLetter: topicSpec(`granary.conformance.${deployment}.measures.dlq`),
  };
  const storage = join(STORAGE_DIR, deployment);
  const pgAdmin = new pg.Client({ connectionString: databaseUrl });
  await pgAdmin.connect();
  const children: ChildProcess[] = [];
  let proxy: PrefixProxy | undefined;
  try {
    await pgAdmin.query(`CREATE DATABASE ${dbName}`);
    await admin.createTopics(Object.values(topics));
    const log = createWriteStream(join(logDir, `${basename(path, '.yaml')}.log`));
    // Both children need the whole environment (PATH, infra endpoints); the deployment goes on top.
    const shared = {
      ...process.env,
      DATABASE_URL: withDatabase(databaseUrl, dbName),
      GRANARY_TOPICS__MEASURES: JSON.stringify(topics.measures),
      GRANARY_TOPICS__MEASURES_DEAD_LETTER: JSON.stringify(topics.measuresDeadLetter),
      GRANARY_STORAGE__DRIVER: 'file',
      GRANARY_STORAGE__FILE__BASE_PATH: storage,
      GRANARY_LOG__LEVEL: 'warn',
    };
    const start = (app: string, env: Record<string, string | undefined>) => {
      const child = spawn(process.execPath, ['--import', 'tsx', app], {
        cwd: ROOT,
        env: { ...shared, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.pipe(log, { end: false });
      child.stderr?.pipe(log, { end: false });
      children.push(child);
      return child;
    };
    const processorAdminPort = await freePort();
    // Gnocchi's fixture processes measures at once; a short checkpoint interval stands in for it.
    const processor = start('apps/processor/main.ts', {
      GRANARY_PROCESSOR__GROUP_ID: `granary-conformance-${deployment}`,
      GRANARY_PROCESSOR__PROVISION_TOPICS: 'false',
      GRANARY_PROCESSOR__CHECKPOINT__INTERVAL_MS: '100',
      GRANARY_PROCESSOR__COMPACTION__GRACE_MS: '0',
      GRANARY_ADMIN__PORT: String(processorAdminPort),
    });
    // Ready once the group assigned it the partitions, so refresh requests find their owner. The
    // API starts after it: both register the topic's schema, and @granary/schema's first
    // registration of a subject is not safe to race (one of them gets a 409 on its compatibility).
    const assigned = await waitForOk(`http://127.0.0.1:${processorAdminPort}/readyz`, processor);
    if (assigned !== true) return failAll(`processor did not start: ${assigned}`);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const api = start('apps/api/main.ts', {
      GRANARY_API__HOST: '127.0.0.1',
      GRANARY_API__PORT: String(port),
      GRANARY_API__MAX_LIMIT: '7',
      // Gnocchi's gabbi users (admin, foobar, foobaz, jd) with the empty passwords the files send.
      GRANARY_API__AUTH__MODE: 'basic',
      GRANARY_API__AUTH__BASIC__USERS_FILE: TEST_USERS_FILE,
      GRANARY_API__CORS__ALLOWED_ORIGINS: '["http://foobar.com"]',
      // Gnocchi's fixture sets enable_proxy_headers_parsing; the prefix proxy relies on it too.
      GRANARY_API__TRUST_FORWARDED_HEADERS: 'true',
      GRANARY_INDEX__SEED: 'empty',
      GRANARY_MEASURES__PROCESSOR_GROUP_ID: `granary-conformance-${deployment}`,
      GRANARY_ADMIN__PORT: '0',
    });
    const started = await waitForOk(`${url}/healthcheck`, api);
    if (started !== true) return failAll(`API did not start: ${started}`);
    proxy = await startPrefixProxy(MOUNT_PREFIX, port);
    // In the file's directory, as Gnocchi runs it: `<@prometheus_fixtures/…` paths are relative.
    const run = await runner(python, [join(HERE, 'runner.py'), path, proxy.url], dirname(path));
    const last = run.stdout.trim().split('\n').at(-1) ?? '';
    try {
      const { tests } = JSON.parse(last) as { tests: TestOutcome[] };
      if (tests.length !== names.length) {
        return failAll(`runner reported ${tests.length} of ${names.length} tests`);
      }
      return tests;
    } catch {
      return failAll(`runner failed: ${run.stderr.trim().split('\n').at(-1) || run.failure}`);
    }
  } finally {
    await proxy?.close();
    await Promise.all(children.map(stopChild));
    await admin.deleteTopics(Object.values(topics).map((topic) => topic.name));
    rmSync(storage, { recursive: true, force: true });
    await pgAdmin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await pgAdmin.end();
  }
}

function topicSpec(name: string): TopicSpec {
  return {
    name,
    partitions: MEASURE_PARTITIONS,
    replicationFactor: 1,
    retentionMs: -1,
    cleanupPolicy: 'delete',
  };
}

/** Runs the gabbi runner without blocking this process, which serves the prefix proxy meanwhile. */
async function runner(
  python: string,
  args: string[],
  cwd: string,
): Promise<{ stdout: string; stderr: string; failure: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(python, args, {
      cwd,
      encoding: 'utf8',
      timeout: FILE_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr, failure: 'no result' };
  } catch (err) {
    const {
      stdout = '',
      stderr = '',
      message,
    } = err as { stdout?: string; stderr?: string; message: string };
    return { stdout, stderr, failure: message };
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  await exited;
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

/** True once `url` answers 200; otherwise why not (the process exited, or timeout). */
async function waitForOk(url: string, child: ChildProcess): Promise<true | string> {
  const deadline = Date.now() + API_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return `exited with ${child.exitCode} (see ${LOG_DIR})`;
    try {
      if ((await fetch(url)).status === 200) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  return `no healthy answer within ${API_START_TIMEOUT_MS / 1000}s (see ${LOG_DIR})`;
}

process.exitCode = await main();
