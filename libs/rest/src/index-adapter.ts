import type { Index } from '@granary/index';
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
    // The index has no health probe of its own; listing the (few) policies is the cheapest read.
    ping: async () => {
      await index.archivePolicies.list();
    },
  };
}
