import { randomUUID } from 'node:crypto';
import { defineErrors } from '@granary/errors';
import { createLogger } from '@granary/observability';
import { TEST_USERS_FILE } from '@granary/testing/settings';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance } from 'fastify';
import { type RestConfig, RestSection, buildApi } from '../index.ts';
import type {
  AggregateQuery,
  ArchivePolicy,
  ArchivePolicyRule,
  BacklogPort,
  IndexPort,
  MeasureBatch,
  MeasuresPort,
  Metric,
  Points,
  ResourceType,
} from '../src/ports.ts';

export const ADMIN = 'basic YWRtaW46';
export const FOOBAR = 'basic Zm9vYmFyOg==';

/** Errors a fake index throws, shaped like the index's (status + Gnocchi description). */
export const fakeIndexError = defineErrors({
  FAKE_NOT_FOUND: { message: 'not found', status: 404, retriable: false },
  FAKE_CONFLICT: { message: 'conflict', status: 409, retriable: false },
  FAKE_BROKEN: { message: 'database exploded', status: 500, retriable: false },
  FAKE_UNSUPPORTED: {
    message: 'not in the fake; covered by the integration tests',
    status: 501,
    retriable: false,
  },
});

/**
 * A small in-memory index: enough behaviour for the HTTP layer's own concerns (no validation of
 * its own; the real index is exercised by the integration tests).
 */
export function fakeIndex(options: { healthy?: boolean } = {}): IndexPort {
  const policies = new Map<string, ArchivePolicy>();
  const rules = new Map<string, ArchivePolicyRule>();
  const metrics = new Map<string, Metric>();
  const types = new Map<string, ResourceType>([
    ['generic', { name: 'generic', state: 'active', attributes: {} }],
  ]);
  const missing = (what: string, name: string) =>
    fakeIndexError('FAKE_NOT_FOUND', name, { details: { description: `${what} ${name} does not exist` } });
  return {
    ping: async () => {
      if (options.healthy === false) throw fakeIndexError('FAKE_BROKEN');
    },
    archivePolicies: {
      create: async (input) => {
        if (policies.has(input.name)) throw fakeIndexError('FAKE_CONFLICT', input.name);
        const policy: ArchivePolicy = {
          name: input.name,
          backWindow: input.backWindow ?? 0,
          definition: input.definition.map((item) => ({
            granularity: item.granularity ?? 1,
            points: item.points ?? null,
            timespan: item.points && item.granularity ? item.points * item.granularity : null,
          })),
          aggregationMethods: [...(input.aggregationMethods ?? ['mean'])],
        };
        policies.set(policy.name, policy);
        return policy;
      },
      get: async (name) => policies.get(name),
      list: async () => [...policies.values()],
      update: async (name) => {
        const policy = policies.get(name);
        if (!policy) throw missing('Archive policy', name);
        return policy;
      },
      delete: async (name) => {
        if (name === 'broken') throw fakeIndexError('FAKE_BROKEN', 'connection reset');
        if (!policies.delete(name)) throw missing('Archive policy', name);
      },
    },
    archivePolicyRules: {
      create: async (rule) => {
        rules.set(rule.name, rule);
        return rule;
      },
      get: async (name) => rules.get(name),
      list: async () => [...rules.values()],
      rename: async (name, newName) => {
        const rule = rules.get(name);
        if (!rule) throw missing('Archive policy rule', name);
        if (rules.has(newName)) {
          throw fakeIndexError('FAKE_CONFLICT', newName, {
            details: { description: `Archive policy rule ${newName} already exists.` },
          });
        }
        rules.delete(name);
        const renamed = { ...rule, name: newName };
        rules.set(newName, renamed);
        return renamed;
      },
      delete: async (name) => {
        if (!rules.delete(name)) throw missing('Archive policy rule', name);
      },
    },
    metrics: {
      create: async (input) => {
        const archivePolicy = policies.get(input.archivePolicyName ?? '');
        if (!archivePolicy) throw missing('Archive policy', input.archivePolicyName ?? '');
        const metric: Metric = {
          id: randomUUID(),
          name: input.name ?? null,
          unit: input.unit ?? null,
          resourceId: input.resourceId ?? null,
          creator: input.creator,
          status: 'active',
          archivePolicy,
        };
        metrics.set(metric.id, metric);
        return metric;
      },
      get: async (id) => metrics.get(id),
      getMany: async (ids) =>
        [...new Set(ids)].flatMap((id) => {
          const metric = metrics.get(id);
          return metric?.status === 'active' ? [metric] : [];
        }),
      list: async (filter, page) =>
        [...metrics.values()]
          .filter((m) => filter.name === undefined || m.name === filter.name)
          .filter(
            (m) =>
              filter.createdByProjectId === undefined || m.creator?.endsWith(`:${filter.createdByProjectId}`),
          )
          .sort((a, b) => a.id.localeCompare(b.id))
          .slice(0, page.limit),
      delete: async (id) => {
        const metric = metrics.get(id);
        if (!metric) throw missing('Metric', id);
        metrics.set(id, { ...metric, status: 'delete' });
      },
    },
    resources: {
      create: unsupported,
      get: unsupported,
      update: unsupported,
      addMetrics: unsupported,
      delete: unsupported,
      deleteMatching: unsupported,
      search: unsupported,
      history: unsupported,
    },
    resourceId: (rawId) =>
      rawId.includes('/') ? { problem: "'/' is not supported in resource id" } : { id: rawId },
    resourceTypes: {
      create: async (input) => {
        const type: ResourceType = { name: input.name, state: 'active', attributes: {} };
        types.set(type.name, type);
        return type;
      },
      get: async (name) => types.get(name),
      list: async () => [...types.values()],
      patch: async (name) => {
        const type = types.get(name);
        if (!type) throw missing('Resource type', name);
        return type;
      },
      delete: async (name) => {
        if (!types.delete(name)) throw missing('Resource type', name);
      },
    },
  };
}

const unsupported = async (): Promise<never> => {
  throw fakeIndexError('FAKE_UNSUPPORTED');
};

/** Basic auth against Gnocchi's test users (empty passwords) unless `overrides.auth` says otherwise. */
export function restConfig(overrides: Record<string, unknown> = {}): RestConfig {
  const auth = { mode: 'basic', basic: { usersFile: TEST_USERS_FILE }, ...(overrides.auth as object) };
  return Value.Default(RestSection, structuredClone({ ...overrides, auth })) as RestConfig;
}

export function testApi(
  overrides: Record<string, unknown> = {},
  index: IndexPort = fakeIndex(),
  measures?: MeasuresPort,
  backlog?: BacklogPort,
): Promise<FastifyInstance> {
  return buildApi(
    {
      index,
      logger: createLogger('rest-test', 'silent'),
      ...(measures ? { measures } : {}),
      ...(backlog ? { backlog } : {}),
    },
    restConfig(overrides),
  );
}

/** Records what would be produced; answers reads with fixed series per granularity (seconds). */
export function fakeMeasures(stored: Record<number, Points> = {}) {
  const written: MeasureBatch[] = [];
  const queries: AggregateQuery[] = [];
  const port: MeasuresPort = {
    writer: {
      write: async (batches) => {
        written.push(...batches);
      },
    },
    reader: {
      read: async (query) => {
        queries.push(query);
        return query.granularities.map((g) => ({
          granularitySeconds: g,
          points: stored[g] ?? { timestamps: new Float64Array(), values: new Float64Array() },
        }));
      },
    },
  };
  return { port, written, queries };
}
