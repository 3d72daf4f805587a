import type { ArchivePolicyInput } from '@granary/index';
import { parseTimespanSeconds } from '@granary/index';
import { type MeterSample, sampleNamespace } from '@granary/pipeline';
import { parse as parseYaml } from 'yaml';
import { type AttributePath, compileAttributePath } from './attribute-path.ts';
import { publisherErrors } from './errors.ts';

/** Ceilometer's default when the file names none (`archive_policy_default`). */
export const CEILOMETER_DEFAULT_ARCHIVE_POLICY = 'ceilometer-low';

export interface ResourceDefinition {
  resourceType: string;
  /** Metric name → its archive policy (per metric, else the deprecated per-resource one, else the default). */
  metrics: Map<string, string>;
  /** Gnocchi attribute → path over the sample (`resource_metadata.display_name`). */
  attributes: Map<string, AttributePath>;
}

/** A parsed `gnocchi_resources.yaml`, in the modern dict format or Mitaka's list format. */
export interface ResourceDefinitions {
  archivePolicyDefault: string;
  /** Policies the file asks for, to create when missing (Ceilometer's `archive_policies`). */
  archivePolicies: ArchivePolicyInput[];
  resources: ResourceDefinition[];
}

/** Where a sample's measure goes: the resource (created or updated as needed) and its metric. */
export interface MappedSample {
  resourceType: string;
  /** The sample's resource id with `/` replaced by `_`, as Ceilometer sends it to Gnocchi. */
  resourceId: string;
  userId: string | null;
  projectId: string | null;
  /** Values the attribute paths found (None values omitted, as Ceilometer). */
  attributes: Record<string, unknown>;
  metricName: string;
  archivePolicyName: string;
  unit: string;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function invalid(origin: string, problem: string): Error {
  return publisherErrors('PUBLISHER_DEFINITIONS_INVALID', `${origin}: ${problem}`);
}

function parseSeconds(value: unknown, where: string, origin: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const seconds = parseTimespanSeconds(value);
  if (seconds === undefined) throw invalid(origin, `${where}: ${JSON.stringify(value)} is not a timespan`);
  return seconds;
}

function parseArchivePolicy(raw: unknown, index: number, origin: string): ArchivePolicyInput {
  if (!isObject(raw) || typeof raw.name !== 'string')
    throw invalid(origin, `archive_policies #${index + 1} needs a name`);
  const where = `archive policy ${raw.name}`;
  if (!Array.isArray(raw.definition)) throw invalid(origin, `${where}: definition must be a list`);
  const methods = raw.aggregation_methods;
  if (methods !== undefined && (!Array.isArray(methods) || methods.some((m) => typeof m !== 'string')))
    throw invalid(origin, `${where}: aggregation_methods must be a list of strings`);
  const backWindow = raw.back_window ?? 0;
  if (typeof backWindow !== 'number') throw invalid(origin, `${where}: back_window must be a number`);
  return {
    name: raw.name,
    backWindow,
    ...(methods === undefined ? {} : { aggregationMethods: methods as string[] }),
    definition: raw.definition.map((item, i) => {
      if (!isObject(item)) throw invalid(origin, `${where}: definition #${i + 1} must be a mapping`);
      return {
        granularity: parseSeconds(item.granularity, `${where} granularity`, origin) ?? null,
        timespan: parseSeconds(item.timespan, `${where} timespan`, origin) ?? null,
        points: typeof item.points === 'number' ? item.points : null,
      };
    }),
  };
}

function parseResource(raw: unknown, index: number, archivePolicyDefault: string, origin: string) {
  if (!isObject(raw) || typeof raw.resource_type !== 'string' || raw.resource_type === '')
    throw invalid(origin, `resources #${index + 1} needs a resource_type`);
  const where = `resource_type ${raw.resource_type}`;
  // Mitaka's list of names, or the dict of name → null | {archive_policy_name}.
  let entries: Array<[string, unknown]>;
  if (Array.isArray(raw.metrics)) {
    if (raw.metrics.some((m) => typeof m !== 'string'))
      throw invalid(origin, `${where}: metrics must be names`);
    entries = raw.metrics.map((name: string) => [name, null]);
  } else if (isObject(raw.metrics)) entries = Object.entries(raw.metrics);
  else throw invalid(origin, `${where}: metrics must be a mapping or a list`);
  const perResource = raw.archive_policy;
  if (perResource !== undefined && typeof perResource !== 'string')
    throw invalid(origin, `${where}: archive_policy must be a name`);
  const metrics = new Map<string, string>();
  for (const [name, extra] of entries) {
    if (extra !== null && extra !== undefined && !isObject(extra))
      throw invalid(origin, `${where}: metric ${name} must be empty or a mapping`);
    const perMetric = extra?.archive_policy_name;
    if (perMetric !== undefined && perMetric !== null && typeof perMetric !== 'string')
      throw invalid(origin, `${where}: metric ${name}: archive_policy_name must be a name`);
    // Ceilometer applies the deprecated per-resource policy after the per-metric one.
    metrics.set(name, perResource ?? (perMetric || archivePolicyDefault));
  }
  const rawAttributes = raw.attributes ?? {};
  if (!isObject(rawAttributes)) throw invalid(origin, `${where}: attributes must be a mapping`);
  const attributes = new Map<string, AttributePath>();
  for (const [name, path] of Object.entries(rawAttributes)) {
    if (typeof path !== 'string') throw invalid(origin, `${where}: attribute ${name} must be a path`);
    attributes.set(name, compileAttributePath(path));
  }
  return { resourceType: raw.resource_type, metrics, attributes };
}

/**
 * Parse `gnocchi_resources.yaml` as Ceilometer's Gnocchi publisher does. Event keys
 * (`event_create`, `event_attributes`, …) are accepted; Granary has no event pipeline yet.
 */
export function parseResourceDefinitions(
  text: string,
  origin = 'gnocchi_resources.yaml',
): ResourceDefinitions {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (cause) {
    throw publisherErrors('PUBLISHER_DEFINITIONS_INVALID', `${origin}: not valid YAML`, { cause });
  }
  if (!isObject(document)) throw invalid(origin, 'the document must be a mapping');
  const archivePolicyDefault = document.archive_policy_default ?? CEILOMETER_DEFAULT_ARCHIVE_POLICY;
  if (typeof archivePolicyDefault !== 'string')
    throw invalid(origin, 'archive_policy_default must be a name');
  const policies = document.archive_policies ?? [];
  if (!Array.isArray(policies)) throw invalid(origin, 'archive_policies must be a list');
  if (!Array.isArray(document.resources)) throw invalid(origin, 'resources must be a list');
  return {
    archivePolicyDefault,
    archivePolicies: policies.map((p, i) => parseArchivePolicy(p, i, origin)),
    resources: document.resources.map((r, i) => parseResource(r, i, archivePolicyDefault, origin)),
  };
}

/**
 * Meter → resource type, attributes, metric and archive policy. As Ceilometer's `metric_map`, a
 * meter listed under several resource types belongs to the last one.
 */
export class MeterMapper {
  private readonly byMeter = new Map<string, ResourceDefinition>();

  constructor(readonly definitions: ResourceDefinitions) {
    for (const resource of definitions.resources) {
      for (const metric of resource.metrics.keys()) this.byMeter.set(metric, resource);
    }
  }

  /** Every meter some resource type takes. */
  meters(): string[] {
    return [...this.byMeter.keys()];
  }

  /**
   * Where `sample` goes, or undefined when no resource type takes its meter. `archivePolicyOverride`
   * is the publisher URL's `archive_policy`, which wins over the file.
   */
  map(sample: MeterSample, archivePolicyOverride?: string): MappedSample | undefined {
    const resource = this.byMeter.get(sample.counter_name);
    if (!resource) return undefined;
    const attributes: Record<string, unknown> = {};
    if (resource.attributes.size > 0) {
      const namespace = sampleNamespace(sample);
      for (const [name, path] of resource.attributes) {
        const value = path.read(namespace);
        if (value !== undefined) attributes[name] = value;
      }
    }
    return {
      resourceType: resource.resourceType,
      resourceId: sample.resource_id.replaceAll('/', '_'),
      userId: sample.user_id,
      projectId: sample.project_id,
      attributes,
      metricName: sample.counter_name,
      archivePolicyName: archivePolicyOverride || resource.metrics.get(sample.counter_name)!,
      unit: sample.counter_unit,
    };
  }
}
