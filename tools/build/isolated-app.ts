import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaClient } from '@granary/kafka';

/**
 * One Granary app started beside whatever else uses the same infrastructure (a `make run` stack,
 * other tests): free ports, topics, consumer groups and cache keys of its own (`scope`), and a
 * scratch storage directory, so it neither steals partitions nor reads or writes anyone's data.
 */
export interface IsolatedApp {
  readonly child: ChildProcess;
  readonly adminPort: number;
  /** The REST port (the `api` app only). */
  readonly apiPort: number | undefined;
  /** Resolves once /readyz answers 200; rejects if the app exits first or `timeoutMs` passes. */
  waitUntilReady(timeoutMs: number): Promise<void>;
  /** SIGTERM, then the exit code once it has exited (null when killed by a signal). */
  stop(): Promise<number | null>;
}

export interface IsolatedAppOptions {
  /** Project root: the working directory, so config/local/<app>.yaml and the bundles resolve. */
  cwd: string;
  /** node's arguments that start the app (tools/build/launch.ts). */
  nodeArguments: string[];
  /** Unique name for this app's topics, consumer group and cache keys. */
  scope: string;
  /** The infrastructure endpoints (KAFKA_BROKERS, DATABASE_URL, …) and any other variables. */
  env: NodeJS.ProcessEnv;
  /** Partitions of each topic the app provisions (default 1). */
  partitions?: number;
  /** File that receives the app's output (default: this process's own stdout and stderr). */
  logFile?: string;
  /**
   * Storage directory shared with other apps of the same scope (an api reading what a processor
   * writes), kept at exit; default: a scratch directory of the app's own, removed at exit.
   */
  storage?: string;
}

/** A TCP port nothing listens on at the moment (for an app or a server started next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function isReady(adminPort: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${adminPort}/readyz`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

export async function startIsolatedApp(app: string, options: IsolatedAppOptions): Promise<IsolatedApp> {
  const { scope } = options;
  const adminPort = await freePort();
  const apiPort = app === 'api' ? await freePort() : undefined;
  const storage = options.storage ?? mkdtempSync(join(tmpdir(), `granary-${app}-storage-`));
  // Each app's configuration accepts only its own sections, so each gets only its own settings.
  const ownSettings = new Map<string, Record<string, string>>([
    ['api', { GRANARY_API__PORT: String(apiPort), GRANARY_STORAGE__FILE__BASE_PATH: storage }],
    [
      'processor',
      { GRANARY_PROCESSOR__GROUP_ID: `${scope}.processors`, GRANARY_STORAGE__FILE__BASE_PATH: storage },
    ],
    [
      'ingest',
      { GRANARY_INGEST__GROUP_ID: `${scope}.ingest`, GRANARY_INGEST__CACHE__REDIS_KEY_PREFIX: `${scope}:` },
    ],
  ]);
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    GRANARY_CONFIG: join('config', 'local', `${app}.yaml`),
    GRANARY_ADMIN__PORT: String(adminPort),
    ...ownSettings.get(app),
  };
  for (const [topic, variable] of [
    ['samples', 'SAMPLES'],
    ['measures', 'MEASURES'],
    ['samples.dlq', 'SAMPLES_DEAD_LETTER'],
    ['measures.dlq', 'MEASURES_DEAD_LETTER'],
  ]) {
    env[`GRANARY_TOPICS__${variable}__NAME`] = `${scope}.${topic}`;
    env[`GRANARY_TOPICS__${variable}__PARTITIONS`] = String(options.partitions ?? 1);
  }

  const output = options.logFile === undefined ? undefined : openSync(options.logFile, 'a');
  const child = spawn(process.execPath, options.nodeArguments, {
    cwd: options.cwd,
    env,
    stdio: output === undefined ? 'inherit' : ['ignore', output, output],
  });
  // The child holds its own copy.
  if (output !== undefined) closeSync(output);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
    if (options.storage === undefined) rmSync(storage, { recursive: true, force: true });
  });
  return {
    child,
    adminPort,
    apiPort,
    async waitUntilReady(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!(await isReady(adminPort))) {
        if (exitCode !== undefined) throw new Error(`${app} exited (code ${exitCode}) before it was ready`);
        if (Date.now() > deadline) throw new Error(`${app} was not ready in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      if (exitCode === undefined) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Deletes the topics that apps of `scope` provisioned (they are of no use once the scope is done). */
export async function deleteScopedTopics(brokers: string[], scope: string): Promise<void> {
  const admin = createKafkaClient({ brokers, clientId: `${scope}.cleanup` }).createAdmin();
  await admin.connect();
  try {
    const names = ['samples', 'measures', 'samples.dlq', 'measures.dlq'].map((topic) => `${scope}.${topic}`);
    const existing = [...(await admin.describeTopics(names)).keys()];
    if (existing.length > 0) await admin.deleteTopics(existing);
  } finally {
    await admin.disconnect();
  }
}
