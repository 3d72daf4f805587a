import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileObjectStore, readManifest } from '@granary/storage';
import { createBenchIndex } from '@granary/testing/postgres';
import { PROJECT_ROOT } from '../../../test/infra/settings.ts';
import { type IsolatedApp, deleteScopedTopics, startIsolatedApp } from '../../build/isolated-app.ts';
import { RUNNERS } from '../../build/launch.ts';
import { cpuSeconds } from '../proc.ts';
import { type BenchSystem, CpuLedger, RestClient } from './system.ts';

const READY_TIMEOUT_MS = 120_000;
const SETTLE_TIMEOUT_MS = 300_000;
/**
 * Compaction folds every checkpoint segment into Gnocchi's split layout within seconds (make up:
 * once a partition has 6 segments, at most every 30 s), so that each workload's CPU includes it,
 * as Gnocchi's includes writing its splits; the defaults would spread it over more measures.
 */
const COMPACTION = {
  GRANARY_PROCESSOR__COMPACTION__MIN_SEGMENTS: '1',
  GRANARY_PROCESSOR__COMPACTION__INTERVAL_MS: '2000',
  GRANARY_PROCESSOR__COMPACTION__GRACE_MS: '0',
};
/** As `make up`: the measures topic's default partition count. */
const PARTITIONS = 64;
/** config/local/users.yaml's development user. */
const BASIC_AUTH = `Basic ${Buffer.from('admin:granary').toString('base64')}`;

export interface GranaryOptions {
  /** Infrastructure endpoints (.granary/infra.env) and the rest of the environment. */
  env: NodeJS.ProcessEnv;
  /** Where the apps' output goes. */
  logFile: string;
  /** Runs this app under `node --cpu-prof`, its profile written into `profileDirectory` at exit. */
  profile?: { app: 'api' | 'processor'; directory: string };
}

/**
 * Granary as `make up` runs it (the dist bundles, file storage, 64 partitions), with topics, consumer
 * group, index database and storage of its own, so nothing else on the infrastructure interferes.
 */
export async function startGranary(options: GranaryOptions): Promise<BenchSystem> {
  const suffix = randomBytes(4).toString('hex');
  const scope = `granary-vs-gnocchi-${suffix}`;
  const adminUrl = options.env.DATABASE_URL;
  if (adminUrl === undefined) throw new Error('DATABASE_URL is not set: source .granary/infra.env first');
  const index = await createBenchIndex(adminUrl, `granary_vs_gnocchi_${suffix}`, [], 'medium');
  const storage = mkdtempSync(join(tmpdir(), 'granary-vs-gnocchi-storage-'));
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    GRANARY_LOG__LEVEL: 'warn',
    GRANARY_DATABASE__URL: index.url,
  };
  const processorEnv = { ...env, ...COMPACTION };
  // /v1/status reports this group's lag (the api alone has the setting: configurations are strict).
  const apiEnv = { ...env, GRANARY_MEASURES__PROCESSOR_GROUP_ID: `${scope}.processors` };
  const start = (app: 'api' | 'processor') => {
    const profileDirectory = options.profile?.app === app ? options.profile.directory : undefined;
    if (profileDirectory !== undefined) mkdirSync(profileDirectory, { recursive: true });
    return startIsolatedApp(app, {
      cwd: PROJECT_ROOT,
      nodeArguments: [
        ...(profileDirectory === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDirectory}`]),
        ...RUNNERS.dist(app),
      ],
      scope,
      partitions: PARTITIONS,
      storage,
      logFile: options.logFile,
      env: app === 'api' ? apiEnv : processorEnv,
    });
  };
  let processor: IsolatedApp | undefined;
  let api: IsolatedApp | undefined;
  const stop = async () => {
    await Promise.all([processor?.stop(), api?.stop()]);
    await index.drop();
    rmSync(storage, { recursive: true, force: true });
    await deleteScopedTopics((options.env.KAFKA_BROKERS ?? '').split(','), scope);
  };
  try {
    // The processor first: it creates the measures topic the API writes to.
    processor = await start('processor');
    await processor.waitUntilReady(READY_TIMEOUT_MS);
    api = await start('api');
    await api.waitUntilReady(READY_TIMEOUT_MS);
  } catch (error) {
    await stop();
    throw error;
  }
  const apiPid = api.child.pid as number;
  const workerCpu = new CpuLedger(() => (processor === undefined ? [] : [processor.child.pid as number]));

  return {
    name: 'Granary',
    api: new RestClient(`http://127.0.0.1:${api.apiPort}`, { authorization: BASIC_AUTH }),
    setup: `dist bundles, 1 api + 1 processor, file storage, ${PARTITIONS} partitions, checkpoint every 5 s; compaction folds each checkpoint segment into the split layout within 2 s (make up: after 6 segments), and each figure waits for it`,
    apiCpuSeconds: () => cpuSeconds(apiPid) ?? 0,
    workerCpuSeconds: () => workerCpu.seconds(),
    async stopWorker() {
      if (processor === undefined) return;
      workerCpu.retire();
      await processor.stop();
      processor = undefined;
    },
    async startWorker() {
      if (processor !== undefined) return 0;
      const started = await start('processor');
      await started.waitUntilReady(READY_TIMEOUT_MS);
      processor = started;
      return cpuSeconds(started.child.pid as number) ?? 0;
    },
    async settle() {
      const store = new FileObjectStore({ basePath: storage });
      const topic = `${scope}.measures`;
      const started = Date.now();
      for (;;) {
        const manifests = await Promise.all(
          Array.from({ length: PARTITIONS }, (_, partition) => readManifest(store, topic, partition)),
        );
        if (manifests.every((read) => (read?.manifest.segments.length ?? 0) === 0)) return;
        if (Date.now() - started > SETTLE_TIMEOUT_MS)
          throw new Error(`Granary: segments not compacted in ${SETTLE_TIMEOUT_MS / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    stop,
  };
}
