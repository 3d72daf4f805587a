import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Index, resourceUuid } from '@granary/index';
import type { MeterSample } from '@granary/pipeline';
import { type TestIndex, createTestIndex } from '@granary/testing/database';
import { infra } from '@granary/testing/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CEILOMETER_RESOURCE_TYPES,
  GnocchiPublisher,
  type LookupOutcome,
  MeterMapper,
  MetricResolver,
  RedisCache,
  type ResourceRequest,
  type SharedCache,
  ensureCeilometerSetup,
  parseResourceDefinitions,
} from '../index.ts';

const DEFINITIONS = parseResourceDefinitions(
  readFileSync(new URL('../../../apps/ingest/config/gnocchi_resources.yaml', import.meta.url), 'utf8'),
);
const CREATOR = 'granary-ingest';

let test: TestIndex;
const caches: RedisCache[] = [];

/** A Redis cache under a prefix of its own, so runs never see each other's keys. */
async function sharedCache(prefix: string): Promise<RedisCache> {
  const cache = new RedisCache(infra().redisUrl, prefix, (error) => {
    throw error;
  });
  await cache.connect();
  caches.push(cache);
  return cache;
}

/** The index, counting the resource calls the resolver makes. */
function counted(index: Index): { index: Pick<Index, 'resources'>; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const resources = new Proxy(index.resources, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
  return { index: { resources }, calls };
}

function resolverWith(
  index: Pick<Index, 'resources'>,
  shared: SharedCache | undefined,
  outcomes: LookupOutcome[],
) {
  return new MetricResolver(index, { creator: CREATOR, shared, onLookup: (o) => outcomes.push(o) });
}

const hostRequest = (
  host: string,
  attributes: Record<string, unknown> = { host_name: host },
): ResourceRequest => ({
  resourceType: 'host',
  resourceId: host,
  userId: null,
  projectId: null,
  attributes,
  metrics: new Map([
    ['hardware.memory.used', { archivePolicyName: 'ceilometer-low', unit: 'KB' }],
    ['hardware.cpu.load.1min', { archivePolicyName: 'ceilometer-low', unit: 'process' }],
  ]),
});

beforeAll(async () => {
  test = await createTestIndex();
  await test.index.seed('defaults');
});

afterAll(async () => {
  await Promise.all(caches.map((c) => c.close()));
  await test?.drop();
});

describe('Ceilometer set-up in the index', () => {
  it("creates Ceilometer's archive policies and resource types once", async () => {
    const first = await ensureCeilometerSetup(test.index, DEFINITIONS);
    expect(first.createdArchivePolicies).toEqual([
      'ceilometer-low',
      'ceilometer-low-rate',
      'ceilometer-high',
      'ceilometer-high-rate',
    ]);
    expect(first.createdResourceTypes.sort()).toEqual(Object.keys(CEILOMETER_RESOURCE_TYPES).sort());
    const policy = await test.index.archivePolicies.get('ceilometer-low-rate');
    expect(policy?.aggregationMethods.sort()).toEqual(['mean', 'rate:mean']);
    expect(policy?.definition).toEqual([{ granularity: 300, points: 8640, timespan: 2_592_000 }]);
    const host = await test.index.resourceTypes.get('host');
    expect(host?.attributes.host_name).toMatchObject({ type: 'string', required: true });
    // Another replica starting at the same time, then a restart: nothing more is created.
    const [again, concurrent] = await Promise.all([
      ensureCeilometerSetup(test.index, DEFINITIONS),
      ensureCeilometerSetup(test.openReplica(), DEFINITIONS),
    ]);
    expect(again).toEqual({ createdArchivePolicies: [], createdResourceTypes: [] });
    expect(concurrent).toEqual({ createdArchivePolicies: [], createdResourceTypes: [] });
  });
});

describe('resolving resources and metrics', () => {
  it('two processes creating the same resources at once end with one resource and one metric per name', async () => {
    const prefix = `test:${randomUUID()}:`;
    const hosts = Array.from({ length: 20 }, (_, i) => `race-${i}.example`);
    const [a, b] = await Promise.all([
      resolverWith(test.index, await sharedCache(prefix), []).resolve(hosts.map((h) => hostRequest(h))),
      resolverWith(test.openReplica(), await sharedCache(prefix), []).resolve(
        hosts.map((h) => hostRequest(h)),
      ),
    ]);
    for (const [i, outcome] of a.entries()) {
      expect(outcome.ok).toBe(true);
      expect(b[i]).toEqual(outcome);
      if (!outcome.ok) continue;
      const resource = await test.index.resources.get('host', outcome.resourceUuid);
      expect(resource?.originalResourceId).toBe(hosts[i]);
      expect(resource?.attributes).toEqual({ host_name: hosts[i] });
      expect(resource?.metrics).toEqual(Object.fromEntries(outcome.metricIds));
      const metrics = await test.index.metrics.listForResource(outcome.resourceUuid);
      expect(metrics.map((m) => m.name).sort()).toEqual(['hardware.cpu.load.1min', 'hardware.memory.used']);
      expect(metrics.find((m) => m.name === 'hardware.memory.used')).toMatchObject({
        unit: 'KB',
        creator: CREATOR,
        archivePolicy: expect.objectContaining({ name: 'ceilometer-low' }),
      });
    }
  });

  it('answers from this process, then from Redis, and touches the index only when attributes change', async () => {
    const prefix = `test:${randomUUID()}:`;
    const host = `cache-${randomUUID()}.example`;
    const first = counted(test.index);
    const outcomes: LookupOutcome[] = [];
    const resolver = resolverWith(first.index, await sharedCache(prefix), outcomes);

    const [created] = await resolver.resolve([hostRequest(host)]);
    expect(outcomes).toEqual(['index']);
    expect(first.calls.get('create')).toBe(1);
    await resolver.resolve([hostRequest(host)]);
    expect(outcomes).toEqual(['index', 'memory']);
    expect([...first.calls.values()].reduce((a, b) => a + b)).toBe(2); // get + create

    // Another process: Redis knows the resource, the index is not asked.
    const second = counted(test.openReplica());
    const secondOutcomes: LookupOutcome[] = [];
    const [fromShared] = await resolverWith(second.index, await sharedCache(prefix), secondOutcomes).resolve([
      hostRequest(host),
    ]);
    expect(secondOutcomes).toEqual(['shared']);
    expect(second.calls.size).toBe(0);
    expect(fromShared).toEqual(created);

    // A changed attribute is written once, making one new revision.
    const renamed = hostRequest(host, { host_name: `${host}.renamed` });
    await resolver.resolve([renamed]);
    await resolver.resolve([renamed]);
    expect(outcomes).toEqual(['index', 'memory', 'index', 'memory']);
    expect(first.calls.get('update')).toBe(1);
    if (!created!.ok) throw created!.error;
    const history = await test.index.resources.history('host', created!.resourceUuid);
    expect(history.map((r) => r.attributes.host_name)).toEqual([host, `${host}.renamed`]);

    // A new metric of a known resource is added to it, keeping the others.
    const more = hostRequest(host, { host_name: `${host}.renamed` });
    (more.metrics as Map<string, { archivePolicyName: string; unit: string }>).set('hardware.cpu.util', {
      archivePolicyName: 'ceilometer-low',
      unit: '%',
    });
    const [extended] = await resolver.resolve([more]);
    expect(first.calls.get('addMetrics')).toBe(1);
    if (!extended!.ok) throw extended!.error;
    expect(extended!.metricIds.get('hardware.memory.used')).toBe(
      created!.metricIds.get('hardware.memory.used'),
    );
    expect((await test.index.resources.get('host', created!.resourceUuid))?.metrics).toEqual(
      Object.fromEntries(extended!.metricIds),
    );
  });

  it('refuses a resource the index refuses, without failing the others', async () => {
    const [refused, fine, badId] = await resolverWith(test.index, undefined, []).resolve([
      hostRequest(`nameless-${randomUUID()}`, {}),
      hostRequest(`named-${randomUUID()}`),
      { ...hostRequest('x'), resourceId: 'y'.repeat(300) },
    ]);
    expect(refused).toMatchObject({ ok: false, error: { code: 'PUBLISHER_RESOURCE_REFUSED' } });
    expect(!refused!.ok && refused!.error.message).toContain('host_name');
    expect(fine!.ok).toBe(true);
    expect(badId).toMatchObject({ ok: false, error: { code: 'PUBLISHER_RESOURCE_REFUSED' } });
  });

  it('works from the index alone when Redis fails', async () => {
    const failures: unknown[] = [];
    const broken: SharedCache = {
      getMany: async () => {
        throw new Error('redis down');
      },
      setMany: async () => {
        throw new Error('redis down');
      },
    };
    const resolver = new MetricResolver(test.index, {
      creator: CREATOR,
      shared: broken,
      onSharedCacheError: (error) => failures.push(error),
    });
    const [outcome] = await resolver.resolve([hostRequest(`lonely-${randomUUID()}`)]);
    expect(outcome!.ok).toBe(true);
    expect(failures).toHaveLength(2);
  });
});

describe('the Gnocchi publisher', () => {
  it('groups measures per metric id, keeps unmapped meters and refused resources apart', async () => {
    const publisher = new GnocchiPublisher(
      new MeterMapper(DEFINITIONS),
      resolverWith(test.index, undefined, []),
    );
    const host = `pub-${randomUUID()}`;
    const sample = (
      name: string,
      volume: number,
      second: number,
      metadata: Record<string, unknown>,
    ): MeterSample => ({
      counter_name: name,
      counter_type: 'gauge',
      counter_unit: 'KB',
      counter_volume: volume,
      user_id: null,
      project_id: null,
      user_name: null,
      project_name: null,
      resource_id: host,
      timestamp: 1_700_000_000_000_000 + second * 1_000_000,
      resource_metadata: metadata,
      source: 'hardware',
      message_id: randomUUID(),
      monotonic_time: null,
    });
    const url = { resource_url: host };
    const result = await publisher.publish([
      { sample: sample('hardware.memory.used', 10, 0, url) },
      { sample: sample('hardware.memory.total', 100, 0, url) },
      { sample: sample('hardware.memory.used', 11, 10, url) },
      { sample: sample('no.such.meter', 1, 0, url) },
      { sample: { ...sample('hardware.memory.used', 5, 0, {}), resource_id: `${host}-bare` } },
    ]);
    const ids = (await test.index.resources.get('host', resourceUuid(host, CREATOR)))!.metrics;
    expect(result.batches).toEqual([
      {
        metric_id: ids['hardware.memory.used'],
        timestamps: [1_700_000_000_000_000, 1_700_000_010_000_000],
        values: [10, 11],
      },
      { metric_id: ids['hardware.memory.total'], timestamps: [1_700_000_000_000_000], values: [100] },
    ]);
    expect(result.unmapped.map((s) => s.counter_name)).toEqual(['no.such.meter']);
    expect(result.refused.map((r) => [r.sample.resource_id, r.error.code])).toEqual([
      [`${host}-bare`, 'PUBLISHER_RESOURCE_REFUSED'],
    ]);
  });
});
