import { createHash } from 'node:crypto';
import { BoundedLru } from '@granary/bounded-cache';
import { type GranaryError, isRetriable } from '@granary/errors';
import { type Index, type MetricSpec, type Resource, indexError, resourceUuid } from '@granary/index';
import { parseUuid } from '@granary/index';
import type { SharedCache } from './cache.ts';
import { publisherErrors } from './errors.ts';

/** What one resource of a batch needs: to exist with these attributes, and to have these metrics. */
export interface ResourceRequest {
  resourceType: string;
  /** The id as Ceilometer sends it (after `/` → `_`); non-UUIDs become UUIDv5 with the creator. */
  resourceId: string;
  userId: string | null;
  projectId: string | null;
  attributes: Record<string, unknown>;
  metrics: ReadonlyMap<string, { archivePolicyName: string; unit: string }>;
}

export type ResolvedResource =
  | { ok: true; resourceUuid: string; metricIds: ReadonlyMap<string, string> }
  | { ok: false; error: GranaryError };

/** Where a resource request was answered: the cache of this process, the shared one, or the index. */
export type LookupOutcome = 'memory' | 'shared' | 'index';

export interface ResolverOptions {
  /** Gnocchi's creator of what ingest creates; part of the UUIDv5 of non-UUID resource ids. */
  creator: string;
  shared?: SharedCache;
  /** Resources and metrics remembered in this process. */
  memoryEntries?: number;
  sharedTtlSeconds?: number;
  /** Index round trips in flight at once for the misses of one batch. */
  concurrency?: number;
  onLookup?: (outcome: LookupOutcome) => void;
  /** A shared-cache failure (answered from the index instead); called for every failure. */
  onSharedCacheError?: (error: unknown) => void;
}

type ResolverIndex = Pick<Index, 'resources'>;

const resourceKey = (uuid: string) => `r:${uuid}`;
const metricKey = (uuid: string, name: string) => `m:${uuid}:${name}`;

/**
 * Fingerprint of what ingest last wrote to a resource (Ceilometer's blake2b of the sorted extra
 * attributes): the same fingerprint means no update is needed.
 */
function fingerprint(request: ResourceRequest): string {
  const sorted = Object.fromEntries(Object.entries(request.attributes).sort(([a], [b]) => (a < b ? -1 : 1)));
  return createHash('sha1')
    .update(JSON.stringify([request.resourceType, request.projectId, sorted]))
    .digest('base64url');
}

function refused(request: ResourceRequest, cause: unknown): GranaryError {
  return publisherErrors(
    'PUBLISHER_RESOURCE_REFUSED',
    `${request.resourceType} ${request.resourceId}: ${(cause as Error).message}`,
    { cause },
  );
}

/**
 * Meter names of resources → metric ids, creating what is missing in the index once. A resource
 * whose attributes are unchanged since ingest last wrote them costs no index round trip: the
 * fingerprint and the metric ids are cached in this process and in the shared cache. Two
 * processes creating the same resource or metric at once end with one (the index arbitrates and
 * the loser reads the winner's).
 */
export class MetricResolver {
  private readonly memory: BoundedLru<string>;
  private readonly ttl: number;

  constructor(
    private readonly index: ResolverIndex,
    private readonly options: ResolverOptions,
  ) {
    this.memory = new BoundedLru(options.memoryEntries ?? 200_000);
    this.ttl = options.sharedTtlSeconds ?? 86_400;
  }

  /**
   * One answer per request, in order. A resource the index refuses (bad attributes, unknown
   * archive policy, …) is answered with PUBLISHER_RESOURCE_REFUSED; a retriable index failure
   * rejects the call, as retrying it is right for the whole batch.
   */
  async resolve(requests: readonly ResourceRequest[]): Promise<ResolvedResource[]> {
    const results: Array<ResolvedResource | undefined> = new Array(requests.length);
    const prepared = requests.map((request, i) => {
      const uuid = resourceUuid(request.resourceId, this.options.creator);
      if (!parseUuid(uuid)) {
        results[i] = { ok: false, error: refused(request, new Error(uuid)) };
        return undefined;
      }
      return { request, uuid, fingerprint: fingerprint(request), keys: this.keysOf(request, uuid) };
    });

    const unresolved: number[] = [];
    prepared.forEach((entry, i) => {
      if (!entry) return;
      const cached = this.fromCache(entry, (key) => this.memory.get(key));
      if (cached) {
        results[i] = cached;
        this.options.onLookup?.('memory');
      } else unresolved.push(i);
    });

    const missing = await this.fromShared(unresolved.map((i) => prepared[i]!));
    const forIndex: number[] = [];
    unresolved.forEach((i, n) => {
      const found = missing[n];
      if (found) {
        results[i] = found;
        this.options.onLookup?.('shared');
      } else forIndex.push(i);
    });

    const written: Array<readonly [string, string]> = [];
    await this.pool(forIndex, async (i) => {
      const { request, uuid, fingerprint: print } = prepared[i]!;
      try {
        const resource = await this.ensure(request, uuid);
        const metricIds = new Map(
          [...request.metrics.keys()].map((name) => [name, resource.metrics[name]!] as const),
        );
        results[i] = { ok: true, resourceUuid: uuid, metricIds };
        const entries: Array<readonly [string, string]> = [
          [resourceKey(uuid), print],
          ...[...metricIds].map(([name, id]) => [metricKey(uuid, name), id] as const),
        ];
        for (const [key, value] of entries) this.memory.set(key, value);
        written.push(...entries);
      } catch (error) {
        if (isRetriable(error) || !(error instanceof Error)) throw error;
        results[i] = { ok: false, error: publisherErrors.is(error) ? error : refused(request, error) };
      }
      this.options.onLookup?.('index');
    });
    if (this.options.shared && written.length > 0) {
      try {
        await this.options.shared.setMany(written, this.ttl);
      } catch (error) {
        this.options.onSharedCacheError?.(error);
      }
    }
    return results as ResolvedResource[];
  }

  private keysOf(request: ResourceRequest, uuid: string): string[] {
    return [resourceKey(uuid), ...[...request.metrics.keys()].map((name) => metricKey(uuid, name))];
  }

  /** The answer when every key is cached and the fingerprint is the one of the request. */
  private fromCache(
    entry: { request: ResourceRequest; uuid: string; fingerprint: string; keys: string[] },
    read: (key: string, position: number) => string | null | undefined,
  ): ResolvedResource | undefined {
    if (read(entry.keys[0]!, 0) !== entry.fingerprint) return undefined;
    const metricIds = new Map<string, string>();
    let position = 1;
    for (const name of entry.request.metrics.keys()) {
      const id = read(entry.keys[position]!, position);
      if (!id) return undefined;
      metricIds.set(name, id);
      position++;
    }
    return { ok: true, resourceUuid: entry.uuid, metricIds };
  }

  private async fromShared(
    entries: Array<{ request: ResourceRequest; uuid: string; fingerprint: string; keys: string[] }>,
  ): Promise<Array<ResolvedResource | undefined>> {
    const { shared } = this.options;
    if (!shared || entries.length === 0) return [];
    let values: Array<string | null>;
    try {
      values = await shared.getMany(entries.flatMap((e) => e.keys));
    } catch (error) {
      this.options.onSharedCacheError?.(error);
      return [];
    }
    let offset = 0;
    return entries.map((entry) => {
      const base = offset;
      offset += entry.keys.length;
      const found = this.fromCache(entry, (_key, position) => values[base + position]);
      if (found) entry.keys.forEach((key, position) => this.memory.set(key, values[base + position]!));
      return found;
    });
  }

  /** The resource as the request wants it, with its metrics; creates and patches only what is needed. */
  private async ensure(request: ResourceRequest, uuid: string): Promise<Resource> {
    const { resources } = this.index;
    const { creator } = this.options;
    let resource: Resource | undefined = await resources.get(request.resourceType, uuid);
    if (!resource) {
      try {
        return await resources.create({
          type: request.resourceType,
          id: request.resourceId,
          creator,
          userId: request.userId,
          projectId: request.projectId,
          attributes: request.attributes,
          metrics: this.specs(request, [...request.metrics.keys()]),
        });
      } catch (error) {
        if (!indexError.is(error, 'INDEX_RESOURCE_ALREADY_EXISTS')) throw error;
      }
      resource = await resources.get(request.resourceType, uuid);
      if (!resource) throw refused(request, new Error('the id is taken by a resource of another type'));
    }
    let current: Resource = resource;
    if (this.differs(current, request)) {
      current = await resources.update(
        request.resourceType,
        uuid,
        { projectId: request.projectId, attributes: request.attributes },
        { creator },
      );
    }
    // A concurrent writer may add some of the same metrics: re-read and add what is still missing.
    for (let attempt = 0; ; attempt++) {
      const absent = [...request.metrics.keys()].filter((name) => !(name in current.metrics));
      if (absent.length === 0) return current;
      try {
        current = await resources.addMetrics(request.resourceType, uuid, this.specs(request, absent), {
          creator,
        });
      } catch (error) {
        if (!indexError.is(error, 'INDEX_NAMED_METRIC_ALREADY_EXISTS') || attempt > 0) throw error;
        current = (await resources.get(request.resourceType, uuid)) ?? current;
      }
    }
  }

  private specs(request: ResourceRequest, names: string[]): Record<string, MetricSpec> {
    return Object.fromEntries(
      names.map((name) => {
        const metric = request.metrics.get(name)!;
        return [name, { archivePolicyName: metric.archivePolicyName, unit: metric.unit }];
      }),
    );
  }

  /** Whether the stored resource lacks what the request says (project or an attribute value). */
  private differs(resource: Resource, request: ResourceRequest): boolean {
    if (resource.projectId !== request.projectId) return true;
    return Object.entries(request.attributes).some(([name, value]) => resource.attributes[name] !== value);
  }

  private async pool(items: number[], work: (item: number) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < items.length) await work(items[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency ?? 4, items.length) }, worker));
  }
}
