import { parseIsoTimestamp } from '@granary/carbonara';
import { parse as parseYaml } from 'yaml';
import { notificationMeterErrors } from './errors.ts';
import { type JsonPath, compileJsonPath } from './jsonpath.ts';
import type { Notification } from './notification.ts';

/**
 * One attribute of a meter definition (Ceilometer's `declarative.Definition`): a path, a list of
 * paths tried in order (`(p1)|(p2)`), an integer literal, or `{fields, plugin}`.
 */
export interface AttributeDefinition {
  /** The value (first non-null match) or, with `all`, every match, nulls included. */
  read(notification: Notification, all: boolean): unknown;
}

/** A `meters.yaml` entry ready to evaluate. */
export interface MeterDefinition {
  readonly name: string;
  /** The raw `name`/`type`/`unit` of the file, used when their path finds nothing. */
  readonly defaults: { name: string; type: string; unit: string };
  readonly eventTypes: readonly RegExp[];
  /** The sample attributes the definition sets, among name, type, unit, volume, timestamp and the ids. */
  readonly attributes: ReadonlyMap<SampleAttribute, AttributeDefinition>;
  readonly metadata: ReadonlyMap<string, AttributeDefinition>;
  readonly userMetadata: AttributeDefinition | undefined;
  /** Attributes that give one value per sample of a multi-meter payload (`lookup`). */
  readonly lookup: readonly string[] | undefined;
}

export const SAMPLE_ATTRIBUTES = [
  'name',
  'type',
  'volume',
  'unit',
  'timestamp',
  'user_id',
  'project_id',
  'resource_id',
] as const;
export type SampleAttribute = (typeof SAMPLE_ATTRIBUTES)[number];

const REQUIRED = ['name', 'type', 'event_type', 'unit', 'volume', 'resource_id'] as const;
const SAMPLE_TYPES: readonly string[] = ['gauge', 'delta', 'cumulative'];

/** The loaded definitions and the entries skipped, each with why (Ceilometer logs and skips them). */
export interface MeterDefinitions {
  readonly definitions: readonly MeterDefinition[];
  readonly skipped: readonly { name: string; problem: string }[];
}

const isDict = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Python truthiness, which decides Ceilometer's "required field missing" and kept metadata. */
export function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isDict(value)) return Object.keys(value).length > 0;
  return true;
}

/**
 * Ceilometer's meter definitions file: a top-level `metric:` list (YAML anchors and `<<` merges
 * allowed). Read in reverse, skipping names already seen, so the last entry of a name wins; an
 * entry Ceilometer would refuse (a missing field, a bad type, a path that does not parse, an
 * unknown plugin) is skipped and reported, the others load.
 */
export function parseMeterDefinitions(text: string, origin: string): MeterDefinitions {
  let document: unknown;
  try {
    document = parseYaml(text, { merge: true, maxAliasCount: 10_000 });
  } catch (cause) {
    throw notificationMeterErrors('NOTIFICATION_METERS_DEFINITIONS_INVALID', `${origin}: not YAML`, {
      cause,
    });
  }
  if (!isDict(document) || !Array.isArray(document.metric))
    throw notificationMeterErrors(
      'NOTIFICATION_METERS_DEFINITIONS_INVALID',
      `${origin}: no top-level metric: list`,
    );
  const definitions: MeterDefinition[] = [];
  const skipped: { name: string; problem: string }[] = [];
  const seen = new Set<string>();
  for (const entry of [...document.metric].reverse()) {
    const name = isDict(entry) ? String(entry.name) : String(entry);
    if (seen.has(name)) continue;
    seen.add(name);
    try {
      definitions.push(meterDefinition(entry));
    } catch (error) {
      skipped.push({ name, problem: error instanceof Error ? error.message : String(error) });
    }
  }
  return { definitions, skipped };
}

function meterDefinition(entry: unknown): MeterDefinition {
  const refuse = (problem: string): never => {
    throw notificationMeterErrors('NOTIFICATION_METERS_DEFINITIONS_INVALID', problem);
  };
  if (!isDict(entry)) return refuse('a metric entry is not a mapping');
  const missing = REQUIRED.filter((field) => !truthy(entry[field]));
  if (missing.length > 0) refuse(`required fields ${missing.join(', ')} not specified`);
  if (!SAMPLE_TYPES.includes(entry.type as string)) refuse(`invalid type ${String(entry.type)}`);
  const eventTypes = (Array.isArray(entry.event_type) ? entry.event_type : [entry.event_type]).map(
    (pattern) => {
      try {
        // Python's re.match: anchored at the start only.
        return new RegExp(`^(?:${String(pattern)})`);
      } catch (cause) {
        return refuse(`event_type ${String(pattern)}: ${(cause as Error).message}`);
      }
    },
  );
  const attributes = new Map<SampleAttribute, AttributeDefinition>();
  for (const name of SAMPLE_ATTRIBUTES)
    if (truthy(entry[name])) attributes.set(name, attributeDefinition(name, entry[name]));
  const metadata = new Map<string, AttributeDefinition>();
  const metadataEntry = entry.metadata ?? {};
  if (!isDict(metadataEntry)) refuse('metadata is not a mapping');
  for (const [key, value] of Object.entries(metadataEntry as Record<string, unknown>))
    metadata.set(key, attributeDefinition(key, value));
  const lookup = entry.lookup === undefined ? undefined : [entry.lookup].flat().map(String);
  return {
    name: String(entry.name),
    defaults: { name: String(entry.name), type: String(entry.type), unit: String(entry.unit) },
    eventTypes,
    attributes,
    metadata,
    userMetadata: truthy(entry.user_metadata)
      ? attributeDefinition('user_metadata', entry.user_metadata)
      : undefined,
    lookup: lookup && lookup.length > 0 ? lookup : undefined,
  };
}

export function attributeDefinition(name: string, config: unknown): AttributeDefinition {
  const refuse = (problem: string): never => {
    throw notificationMeterErrors('NOTIFICATION_METERS_DEFINITIONS_INVALID', `${name}: ${problem}`);
  };
  let fields = config;
  let plugin: ((values: unknown[]) => unknown) | undefined;
  if (isDict(config)) {
    if (!Object.hasOwn(config, 'fields')) refuse("the field 'fields' is required");
    fields = config.fields;
    if (config.plugin !== undefined) plugin = pluginOf(config.plugin, refuse);
  }
  if (Array.isArray(fields))
    fields = fields.length === 1 ? fields[0] : fields.map((p) => `(${String(p)})`).join('|');
  if (typeof fields === 'number' && Number.isInteger(fields)) {
    const literal = fields;
    return { read: () => literal };
  }
  if (typeof fields !== 'string') return refuse(`not a path: ${JSON.stringify(fields)}`);
  let path: JsonPath;
  try {
    path = compileJsonPath(fields);
  } catch (error) {
    return refuse((error as Error).message);
  }
  return {
    read(notification, all) {
      const found = path.find(notification).filter((value) => all || (value !== null && value !== undefined));
      if (plugin) {
        if (all)
          throw notificationMeterErrors(
            'NOTIFICATION_METERS_DEFINITION_FAILED',
            `${name}: a plugin gives one value`,
          );
        const value = plugin(found);
        return value ?? null;
      }
      return all ? found : (found[0] ?? null);
    },
  };
}

/** Ceilometer's trait plugins that meter definitions use; `timedelta` for the booting time and audit periods. */
function pluginOf(config: unknown, refuse: (problem: string) => never): (values: unknown[]) => unknown {
  const name = isDict(config) ? config.name : config;
  if (name === undefined) refuse('plugin specified, but no plugin name supplied');
  if (name === 'timedelta') return timedelta;
  return refuse(`no plugin named ${String(name)} available`);
}

/** `abs(end - start)` in seconds of two timestamps; anything else gives no value. */
function timedelta(values: unknown[]): number | undefined {
  if (values.length !== 2) return undefined;
  const [start, end] = values.map((value) =>
    typeof value === 'string' ? parseIsoTimestamp(value) : undefined,
  );
  if (start === undefined || end === undefined) return undefined;
  return Math.abs(end - start) / 1e6;
}
