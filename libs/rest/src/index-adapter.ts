import {
  type Index,
  type ResourceFilter,
  parseResourceFilter,
  parseUuid,
  resourceUuid,
} from '@granary/index';
import type { IndexPort } from './ports.ts';

/**
 * The one module that knows `@granary/index`: its repositories already have the shapes of the
 * ports, so the adapter only adds what the index does not offer itself: filter parsing combined
 * with the caller's policy filter, the resource id mapping, a health probe.
 */
export function indexPort(index: Index): IndexPort {
  const { resources, archivePolicies } = index;
  return {
    archivePolicies: {
      // Fresh arrays: the index's input types take mutable ones.
      create: ({ definition, aggregationMethods, ...rest }) =>
        archivePolicies.create({
          ...rest,
          definition: definition.map((item) => ({ ...item })),
          ...(aggregationMethods ? { aggregationMethods: [...aggregationMethods] } : {}),
        }),
      get: (name) => archivePolicies.get(name),
      list: () => archivePolicies.list(),
      update: (name, { definition, ...rest }) =>
        archivePolicies.update(name, { ...rest, definition: definition.map((item) => ({ ...item })) }),
      delete: (name) => archivePolicies.delete(name),
    },
    archivePolicyRules: index.archivePolicyRules,
    resourceTypes: index.resourceTypes,
    metrics: index.metrics,
    resources: {
      create: (input) => resources.create(input),
      get: (type, id) => resources.get(type, id),
      update: (type, id, change, options) => resources.update(type, id, change, options),
      addMetrics: (type, id, metrics, options) => resources.addMetrics(type, id, metrics, options),
      delete: (type, id) => resources.delete(type, id),
      deleteMatching: (type, filter, options) => {
        // An empty filter stays empty (the index refuses it) rather than becoming "all of the project".
        const parsed = parseResourceFilter(filter);
        return resources.deleteMatching(type, parsed && scoped(parsed, options.policyFilter), options);
      },
      search: ({ filter, policyFilter, ...request }) =>
        resources.search({ ...request, filter: scoped(parseFilterIfAny(filter), policyFilter) }),
      history: (type, id, page) => resources.history(type, id, page),
    },
    resourceId: (rawId, creator) => {
      const mapped = resourceUuid(rawId, creator);
      return parseUuid(mapped) ? { id: mapped } : { problem: mapped };
    },
    // The index has no health probe of its own; listing the (few) policies is the cheapest read.
    ping: async () => {
      await index.archivePolicies.list();
    },
  };
}

const parseFilterIfAny = (filter: unknown): ResourceFilter | null =>
  filter === undefined ? null : parseResourceFilter(filter);

/** Restricts a filter to what the policy lets the caller see; an empty filter (null) becomes just that. */
function scoped(
  filter: ResourceFilter | null,
  policyFilter: Record<string, unknown> | undefined,
): ResourceFilter | null {
  const scope = policyFilter && parseResourceFilter(policyFilter);
  if (!scope) return filter;
  return filter ? { kind: 'and', operands: [filter, scope] } : scope;
}
