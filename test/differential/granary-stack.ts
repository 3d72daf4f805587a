import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBenchIndex } from '@granary/testing/postgres';
import { type IsolatedApp, deleteScopedTopics, startIsolatedApp } from '../../tools/build/isolated-app.ts';
import { RUNNERS } from '../../tools/build/launch.ts';
import { PROJECT_ROOT } from '../infra/settings.ts';

const READY_TIMEOUT_MS = 120_000;

export interface GranaryStack {
  url: string;
  stop(): Promise<void>;
}

/**
 * One Granary API and one processor from the sources, with an index database, topics, consumer
 * group and file storage of their own (nothing else on the infrastructure sees their data), and
 * config/local's basic auth (admin / granary).
 */
export async function startGranaryStack(options: {
  env: { kafkaBrokers: string[]; databaseUrl: string; schemaRegistryUrl: string };
  logFile: string;
}): Promise<GranaryStack> {
  const suffix = randomBytes(4).toString('hex');
  const scope = `granary-diff-${suffix}`;
  const index = await createBenchIndex(options.env.databaseUrl, `granary_diff_${suffix}`, [], 'medium');
  const storage = mkdtempSync(join(tmpdir(), 'granary-diff-storage-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: options.env.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: options.env.schemaRegistryUrl,
    DATABASE_URL: index.url,
    GRANARY_DATABASE__URL: index.url,
    GRANARY_LOG__LEVEL: 'warn',
  };
  // The API asks the processors of this group to checkpoint on `refresh=true`.
  const apiEnv = { GRANARY_MEASURES__PROCESSOR_GROUP_ID: `${scope}.processors` };
  const start = (app: 'api' | 'processor') =>
    startIsolatedApp(app, {
      cwd: PROJECT_ROOT,
      nodeArguments: RUNNERS.tsx(app),
      scope,
      partitions: 2,
      storage,
      logFile: options.logFile,
      env: app === 'api' ? { ...env, ...apiEnv } : env,
    });
  const apps: IsolatedApp[] = [];
  const stop = async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await index.drop();
    rmSync(storage, { recursive: true, force: true });
    await deleteScopedTopics(options.env.kafkaBrokers, scope);
  };
  try {
    // The processor first: it creates the measures topic the API writes to.
    const processor = await start('processor');
    apps.push(processor);
    await processor.waitUntilReady(READY_TIMEOUT_MS);
    const api = await start('api');
    apps.push(api);
    await api.waitUntilReady(READY_TIMEOUT_MS);
    return { url: `http://127.0.0.1:${api.apiPort}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
