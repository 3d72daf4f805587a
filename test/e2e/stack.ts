import { type RunningApi, startApi } from '@granary/app-api';
import { type RunningProcessor, startProcessor } from '@granary/app-processor';
import type { Logger } from '@granary/observability';
import { type AppEnvironment, createAppEnvironment } from '@granary/testing/app-environment';
import { infra } from '@granary/testing/infra';
import { expect } from 'vitest';

/**
 * What the end-to-end suites share: apps started in the test process with their real wiring, on
 * topics, a database and a storage folder of their own, and the API read back as a client would.
 */
export const ADMIN = { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` };

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export interface ApiResource {
  id: string;
  original_resource_id: string;
  project_id: string | null;
  user_id: string | null;
  metrics: Record<string, string>;
  [attribute: string]: unknown;
}

export interface E2eStack extends Pick<AppEnvironment, 'suffix' | 'topic' | 'configOf' | 'shared'> {
  readonly api: RunningApi;
  readonly processor: RunningProcessor;
  getJson(path: string): Promise<unknown>;
  /** The `type` resource made for `originalId`, once it has all of `meters`. */
  resourceOf(type: string, originalId: string, meters: readonly string[]): Promise<ApiResource>;
  /** A metric's stored aggregates (the processor checkpoints first: refresh). */
  aggregates(metricId: string): Promise<[string, number, number][]>;
  stop(): Promise<void>;
}

/** A database, the API and a processor for one suite; its other apps use `configOf` and `shared`. */
export async function startE2eStack(name: string, logger: Logger): Promise<E2eStack> {
  const environment = await createAppEnvironment(`e2e-${name}`, infra(), {
    topicPrefix: 'e2e',
    measuresPartitions: 4,
    samplesPartitions: 2,
  });
  const { suffix, topic, configOf, shared } = environment;
  const processorGroup = `e2e-${name}-processors-${suffix}`;
  // The API migrates and seeds the index; ingest creates resources as soon as it starts.
  const api = await startApi(environment.apiConfig({ processorGroupId: processorGroup }), logger);
  const processor = await startProcessor(
    environment.processorConfig('processor', {
      groupId: processorGroup,
      sessionTimeoutMs: 10_000,
      checkpoint: { intervalMs: 500 },
    }),
    logger,
  );

  const getJson = async (path: string): Promise<unknown> => {
    const response = await fetch(`${api.url}${path}`, { headers: ADMIN });
    expect(response.status, `GET ${path}: ${await response.clone().text()}`).toBe(200);
    return response.json();
  };
  return {
    suffix,
    topic,
    configOf,
    shared,
    api,
    processor,
    getJson,
    resourceOf: (type, originalId, meters) =>
      waitFor(`${type} ${originalId} with ${meters.join(', ')}`, async () => {
        const resources = (await getJson(`/v1/resource/${type}`)) as ApiResource[];
        return resources.find(
          (r) => r.original_resource_id === originalId && meters.every((meter) => r.metrics[meter]),
        );
      }),
    aggregates: (metricId) =>
      waitFor(`aggregates of ${metricId}`, async () => {
        const points = (await getJson(`/v1/metric/${metricId}/measures?refresh=true`)) as [
          string,
          number,
          number,
        ][];
        return points.length > 0 ? points : undefined;
      }),
    stop: async () => {
      await processor.stop();
      await api.stop();
      await environment.stop();
    },
  };
}
