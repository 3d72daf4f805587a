import type { Index } from '@granary/index';
import { indexError } from '@granary/index';
import type { ResourceDefinitions } from './definitions.ts';
import { CEILOMETER_RESOURCE_TYPES } from './resource-types.ts';

export interface BootstrapReport {
  createdArchivePolicies: string[];
  createdResourceTypes: string[];
}

/**
 * What Ceilometer creates in Gnocchi before publishing: the archive policies of the definitions
 * file and the resource types of `ceilometer-upgrade`, each only when missing (one created by
 * another process meanwhile is fine). Existing ones are left as they are, as Ceilometer does.
 */
export async function ensureCeilometerSetup(
  index: Pick<Index, 'archivePolicies' | 'resourceTypes'>,
  definitions: ResourceDefinitions,
): Promise<BootstrapReport> {
  const report: BootstrapReport = { createdArchivePolicies: [], createdResourceTypes: [] };
  for (const policy of definitions.archivePolicies) {
    if (await index.archivePolicies.get(policy.name)) continue;
    try {
      await index.archivePolicies.create(policy);
      report.createdArchivePolicies.push(policy.name);
    } catch (error) {
      if (!indexError.is(error, 'INDEX_ARCHIVE_POLICY_ALREADY_EXISTS')) throw error;
    }
  }
  for (const [name, attributes] of Object.entries(CEILOMETER_RESOURCE_TYPES)) {
    if (await index.resourceTypes.get(name)) continue;
    try {
      await index.resourceTypes.create({ name, attributes });
      report.createdResourceTypes.push(name);
    } catch (error) {
      if (!indexError.is(error, 'INDEX_RESOURCE_TYPE_ALREADY_EXISTS')) throw error;
    }
  }
  return report;
}
