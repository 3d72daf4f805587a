import { type Index, parseUuid, resourceUuid } from '@granary/index';
import type { IndexPort } from './ports.ts';

/**
 * The one module that knows `@granary/index`: its repositories already have the shapes of the
 * ports, so the adapter only adds what the index does not offer itself.
 */
export function indexPort(index: Index): IndexPort {
  return {
    archivePolicies: index.archivePolicies,
    archivePolicyRules: index.archivePolicyRules,
    resourceTypes: index.resourceTypes,
    metrics: index.metrics,
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
