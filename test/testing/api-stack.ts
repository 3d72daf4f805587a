import { type RunningApi, startApi } from '@granary/app-api';
import { type RunningProcessor, startProcessor } from '@granary/app-processor';
import { createLogger } from '@granary/observability';
import { infra } from '../infra/endpoints.ts';
import { createAppEnvironment } from './app-environment.ts';

/**
 * The API over a real index (a database of its own), measures topics of its own and a filesystem
 * store, plus processors of its own group on demand: what a test needs for measures written through
 * the API to come back through it.
 */
export interface ReadStack {
  api: RunningApi;
  /** The filesystem store's base path. */
  storage: string;
  /** The measures topic (two partitions). */
  topic: string;
  /**
   * A processor checkpointing every `intervalMs`, once it owns the partitions. It compacts every
   * live segment as soon as it can, unless `compaction` is off. The stack stops it with itself.
   */
  startProcessor(intervalMs: number, compaction?: 'eager' | 'off'): Promise<RunningProcessor>;
  stop(): Promise<void>;
}

/** Basic-auth admin headers for JSON requests. */
export const adminHeaders = {
  authorization: `basic ${Buffer.from('admin:').toString('base64')}`,
  'content-type': 'application/json',
};

/** A JSON request to the stack's API as admin: the status and the parsed body (undefined if not JSON). */
export async function callApi(stack: ReadStack, method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.api.url}${path}`, {
    method,
    headers: adminHeaders,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json().catch(() => undefined)) as unknown };
}

export async function until(condition: () => Promise<boolean>, attempts = 120): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await condition()) return;
    await new Promise((done) => setTimeout(done, 500));
  }
  throw new Error('condition not met');
}

/** `name` tells the stack's topics, group and logs apart from other test files'. */
export async function startReadStack(name: string): Promise<ReadStack> {
  const environment = await createAppEnvironment(name, infra(), {
    topicPrefix: 'granary.test',
    measuresPartitions: 2,
  });
  const groupId = `granary-test-${name}-${environment.suffix}`;
  const logger = createLogger(`${name}-int`, 'silent');
  const processors: RunningProcessor[] = [];
  const api = await startApi(
    environment.apiConfig({ processorGroupId: groupId }, { index: { seed: 'defaults' } }),
    logger,
  );
  return {
    api,
    storage: environment.storage.file.basePath,
    topic: environment.topics.measures.name,
    startProcessor: async (intervalMs, compaction = 'off') => {
      const config = environment.processorConfig(`processor-${processors.length}`, {
        groupId,
        sessionTimeoutMs: 6000,
        checkpoint: { intervalMs },
        compaction:
          compaction === 'eager'
            ? { intervalMs: 200, minSegments: 1, graceMs: 0 }
            : { intervalMs: 3_600_000 },
      });
      const running = await startProcessor(config, logger);
      processors.push(running);
      await until(async () => (await fetch(`${running.adminUrl}/readyz`)).status === 200);
      return running;
    },
    stop: async () => {
      for (const processor of processors) await processor.stop();
      await api.stop();
      await environment.stop();
    },
  };
}
