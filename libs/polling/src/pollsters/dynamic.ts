import { type Expression, compileExpression, expressionErrors } from '@granary/expression';
import type { CounterType } from '@granary/schema';
import { isMap, isSeq, parseDocument } from 'yaml';
import { pollingErrors } from '../errors.ts';
import { httpGet } from '../http.ts';
import type { Discovery, PolledSample, Pollster } from '../model.ts';

/**
 * Ceilometer's dynamic pollsters (`polling/dynamic_pollster.py`): YAML definitions of meters read
 * from HTTP JSON APIs. Supported: single and multi-metric (`name.{key}` with `[list].attribute`)
 * pollsters over `endpoint_type` (resources from the `endpoint:<type>` discovery) or an absolute
 * `url_path`, with value/metadata attribute paths and their `| operation` chains, value mapping,
 * default value, skip values, metadata mapping, pagination, headers and timeout. Operations run in
 * the safe expression language of @granary/expression, never `eval`. Refused, with the key named:
 * `host_command` (runs shell commands), `module`/authentication objects (load Python code),
 * `extra_metadata_fields` and non-JSON response handlers.
 */
export interface DynamicPollsterDefinition {
  name: string;
  sampleType: CounterType;
  unit: string;
  value: AttributePath;
  /** For multi-metric pollsters: the list holding the sub-metrics and the key naming each. */
  multiMetric: { list: AttributePath; nameKey: string } | undefined;
  endpointType: string | undefined;
  urlPath: string;
  metadataFields: Array<{ field: string; path: AttributePath }>;
  skipSampleValues: unknown[];
  valueMapping: Record<string, unknown>;
  defaultValue: unknown;
  metadataMapping: Record<string, string>;
  preserveMappedMetadata: boolean;
  responseEntries: AttributePath | undefined;
  nextSampleUrl: AttributePath | undefined;
  userId: AttributePath;
  projectId: AttributePath;
  resourceId: AttributePath;
  headers: Record<string, string>;
  timeoutSeconds: number;
}

/** `a.b.c | op | op`: dotted keys (`.` is the document itself), then operations over `value`. */
export interface AttributePath {
  source: string;
  keys: string[];
  operations: Expression[];
}

const NAME_PATTERN = /^([\w-]+)(\.[\w-]+)*(\.\{[\w-]+\})?$/;
const SUPPORTED_KEYS = new Set([
  'name',
  'sample_type',
  'unit',
  'value_attribute',
  'endpoint_type',
  'url_path',
  'metadata_fields',
  'skip_sample_values',
  'value_mapping',
  'default_value',
  'metadata_mapping',
  'preserve_mapped_metadata',
  'response_entries_key',
  'next_sample_url_attribute',
  'user_id_attribute',
  'project_id_attribute',
  'resource_id_attribute',
  'headers',
  'timeout',
  'response_handlers',
  // Selects the Ceilometer agents that load a definition; Granary's pollers all load every one.
  'namespaces',
]);
const MAX_PAGES = 10_000;

export function compileAttributePath(source: string): AttributePath {
  const [path = '', ...operations] = source.split('|');
  const trimmed = path.trim();
  return {
    source,
    keys: trimmed === '.' ? [] : trimmed.split('.'),
    operations: operations.map((operation) => {
      if (!operation.includes('value')) {
        throw expressionErrors('EXPRESSION_SYNTAX', `operation "${operation.trim()}" must use "value"`);
      }
      return compileExpression(operation.trim());
    }),
  };
}

/**
 * The value at `path` in `document`. A missing key gives null without running the operations
 * (Ceilometer would fail the entry with a KeyError; a None volume is dropped either way); a key
 * holding null runs them, so `value or {...}` works as written.
 */
export function readAttribute(document: unknown, path: AttributePath): unknown {
  let value: unknown = document;
  for (const key of path.keys) {
    const container = value;
    if (Array.isArray(container) && /^\d+$/.test(key) && Number(key) < container.length)
      value = container[Number(key)];
    else if (isRecord(container) && Object.hasOwn(container, key)) value = container[key];
    else return null;
  }
  for (const operation of path.operations) value = operation.evaluate({ value: value ?? null });
  return value ?? null;
}

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function ownValue(value: unknown, key: string): unknown {
  return isRecord(value) && Object.hasOwn(value, key) ? value[key] : null;
}

/** Parse a dynamic pollster definitions file (a YAML list); the first definition of a name wins. */
export function parseDynamicPollsterDefinitions(
  text: string,
  file = 'pollsters.yaml',
): DynamicPollsterDefinition[] {
  const document = parseDocument(text);
  const invalid = (problem: string, cause?: unknown) =>
    pollingErrors('POLLING_DEFINITIONS_INVALID', `${file}: ${problem}`, { cause });
  if (document.errors[0]) throw invalid(document.errors[0].message.split('\n')[0]!);
  if (!isSeq(document.contents)) throw invalid('expected a list of pollster definitions');
  const definitions = new Map<string, DynamicPollsterDefinition>();
  for (const item of document.contents.items) {
    if (!isMap(item)) throw invalid('a pollster definition must be a mapping');
    const raw = item.toJSON() as Record<string, unknown>;
    const name = raw.name;
    if (typeof name !== 'string' || !NAME_PATTERN.test(name))
      throw invalid(`bad pollster name ${JSON.stringify(name)}`);
    if (definitions.has(name)) continue;
    try {
      definitions.set(name, toDefinition(name, raw));
    } catch (error) {
      if (expressionErrors.is(error)) throw invalid(`pollster ${name}: ${error.message}`, error);
      if (pollingErrors.is(error)) throw invalid(`pollster ${name}: ${error.message}`, error);
      throw error;
    }
  }
  return [...definitions.values()];
}

function toDefinition(name: string, raw: Record<string, unknown>): DynamicPollsterDefinition {
  const problem = (text: string) => pollingErrors('POLLING_DEFINITIONS_INVALID', text);
  for (const key of Object.keys(raw)) {
    if (!SUPPORTED_KEYS.has(key)) throw problem(`"${key}" is not supported by Granary`);
  }
  const text = (key: string, fallback?: string): string => {
    const value = raw[key] ?? fallback;
    if (typeof value !== 'string' || value === '') throw problem(`"${key}" must be a non-empty string`);
    return value;
  };
  const sampleType = text('sample_type');
  if (!['gauge', 'delta', 'cumulative'].includes(sampleType))
    throw problem(`bad sample_type "${sampleType}"`);
  const handlers = raw.response_handlers ?? ['json'];
  if (!Array.isArray(handlers) || handlers.some((h) => h !== 'json'))
    throw problem('only the json response handler is supported');
  const endpointType = raw.endpoint_type === undefined ? undefined : text('endpoint_type');
  const urlPath = text('url_path');
  if (!endpointType && !/^https?:\/\//.test(urlPath))
    throw problem('needs "endpoint_type" or an absolute "url_path"');

  const valueSource = text('value_attribute');
  const multi = /^\[([^\]]+)\]\.(.+)$/.exec(valueSource);
  const nameKey = /\{([\w-]+)\}$/.exec(name)?.[1];
  if (Boolean(multi) !== Boolean(nameKey)) {
    throw problem(
      'a multi-metric pollster needs both a name ending in ".{key}" and a "[list].attribute" value',
    );
  }
  const mapping = (key: string): Record<string, unknown> => {
    const value = raw[key] ?? {};
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw problem(`"${key}" must be a mapping`);
    return value as Record<string, unknown>;
  };
  const list = (key: string): unknown[] => {
    const value = raw[key] ?? [];
    if (!Array.isArray(value)) throw problem(`"${key}" must be a list`);
    return value;
  };
  const timeout = raw.timeout ?? 30;
  if (typeof timeout !== 'number' || timeout <= 0)
    throw problem('"timeout" must be a positive number of seconds');
  return {
    name,
    sampleType: sampleType as CounterType,
    unit: text('unit'),
    value: compileAttributePath(multi ? multi[2]! : valueSource),
    multiMetric: multi && nameKey ? { list: compileAttributePath(multi[1]!), nameKey } : undefined,
    endpointType,
    urlPath,
    metadataFields: list('metadata_fields').map((field) => ({
      field: String(field),
      path: compileAttributePath(String(field)),
    })),
    skipSampleValues: list('skip_sample_values'),
    valueMapping: mapping('value_mapping'),
    defaultValue: raw.default_value ?? -1,
    metadataMapping: Object.fromEntries(
      Object.entries(mapping('metadata_mapping')).map(([k, v]) => [k, String(v)]),
    ),
    preserveMappedMetadata: raw.preserve_mapped_metadata !== false,
    responseEntries:
      raw.response_entries_key === undefined ? undefined : compileAttributePath(text('response_entries_key')),
    nextSampleUrl:
      raw.next_sample_url_attribute === undefined
        ? undefined
        : compileAttributePath(text('next_sample_url_attribute')),
    userId: compileAttributePath(text('user_id_attribute', 'user_id')),
    projectId: compileAttributePath(text('project_id_attribute', 'project_id')),
    resourceId: compileAttributePath(text('resource_id_attribute', 'id')),
    headers: Object.fromEntries(Object.entries(mapping('headers')).map(([k, v]) => [k, String(v)])),
    timeoutSeconds: timeout,
  };
}

/** Entries of a response: `response_entries_key`, else a list as is, else the first key's value. */
function entriesOf(response: unknown, definition: DynamicPollsterDefinition): Record<string, unknown>[] {
  let entries: unknown = response;
  if (definition.responseEntries) entries = readAttribute(response, definition.responseEntries);
  else if (isRecord(response)) {
    entries = Object.values(response)[0];
  }
  if (entries === null || entries === undefined) return [];
  return (Array.isArray(entries) ? entries : [entries]).filter(
    (entry): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null,
  );
}

function metadataOf(entry: unknown, definition: DynamicPollsterDefinition): Record<string, unknown> {
  // Field names are the definition's; `in` below must not find Object.prototype's names.
  const metadata: Record<string, unknown> = Object.create(null);
  for (const { field, path } of definition.metadataFields) metadata[field] = readAttribute(entry, path);
  for (const [from, to] of Object.entries(definition.metadataMapping)) {
    if (!(from in metadata)) continue;
    metadata[to] = metadata[from];
    if (!definition.preserveMappedMetadata) delete metadata[from];
  }
  return metadata;
}

/** Volume after skip values and value mapping; undefined when the sample is skipped or not numeric. */
function volumeOf(raw: unknown, definition: DynamicPollsterDefinition): number | undefined {
  if (
    raw === null ||
    definition.skipSampleValues.some((skip) => skip === raw || String(skip) === String(raw))
  ) {
    return undefined;
  }
  let value: unknown = raw;
  if (Object.keys(definition.valueMapping).length > 0) {
    const key = String(raw);
    value = Object.hasOwn(definition.valueMapping, key)
      ? definition.valueMapping[key]
      : definition.defaultValue;
  }
  if (!['number', 'string', 'boolean'].includes(typeof value) || value === '') return undefined;
  const volume = Number(value);
  return Number.isNaN(volume) ? undefined : volume;
}

function samplesOf(entry: Record<string, unknown>, definition: DynamicPollsterDefinition): PolledSample[] {
  const resourceId = readAttribute(entry, definition.resourceId);
  if (resourceId === null) {
    throw pollingErrors(
      'POLLING_BAD_RESPONSE',
      `${definition.name}: an entry has no ${definition.resourceId.source}`,
    );
  }
  const optionalText = (value: unknown) => (value === null ? null : String(value));
  const base = {
    type: definition.sampleType,
    unit: definition.unit,
    resourceId: String(resourceId),
    userId: optionalText(readAttribute(entry, definition.userId)),
    projectId: optionalText(readAttribute(entry, definition.projectId)),
    metadata: metadataOf(entry, definition),
  };
  const multiMetric = definition.multiMetric;
  const measured: Array<[string, unknown]> = multiMetric
    ? asList(readAttribute(entry, multiMetric.list)).map((item) => [
        definition.name.replace(`{${multiMetric.nameKey}}`, String(ownValue(item, multiMetric.nameKey))),
        readAttribute(item, definition.value),
      ])
    : [[definition.name, readAttribute(entry, definition.value)]];
  return measured.flatMap(([name, raw]) => {
    const volume = volumeOf(raw, definition);
    return volume === undefined ? [] : [{ ...base, name, volume }];
  });
}

/** One pollster per definition; its resources are API base URLs (or the absolute `url_path`). */
export function createDynamicPollster(definition: DynamicPollsterDefinition): Pollster {
  const absolute = /^https?:\/\//.test(definition.urlPath);
  return {
    name: definition.name,
    handles: (resource) => /^https?:\/\//.test(resource),
    defaultDiscovery: absolute ? `url:${definition.urlPath}` : `endpoint:${definition.endpointType}`,
    async poll(resources) {
      const samples: PolledSample[] = [];
      for (const endpoint of resources) {
        let url: string | undefined = new URL(
          definition.urlPath,
          endpoint.endsWith('/') ? endpoint : `${endpoint}/`,
        ).href;
        const visited = new Set<string>();
        while (url) {
          if (visited.has(url) || visited.size >= MAX_PAGES) {
            throw pollingErrors('POLLING_BAD_RESPONSE', `${definition.name}: pagination loops at ${url}`);
          }
          visited.add(url);
          const body = await httpGet(url, {
            headers: definition.headers,
            timeoutMs: definition.timeoutSeconds * 1000,
          });
          let response: unknown;
          try {
            response = JSON.parse(body);
          } catch (cause) {
            throw pollingErrors('POLLING_BAD_RESPONSE', `${definition.name}: ${url} did not answer JSON`, {
              cause,
            });
          }
          for (const entry of entriesOf(response, definition)) samples.push(...samplesOf(entry, definition));
          const next = definition.nextSampleUrl ? readAttribute(response, definition.nextSampleUrl) : null;
          url = next ? new URL(String(next), url).href : undefined;
        }
      }
      return samples;
    },
  };
}

/**
 * `endpoint:<type>`: the base URLs of a service type, from the configured catalog (Granary runs
 * without Keystone; the catalog is configuration).
 */
export function endpointDiscovery(catalog: Readonly<Record<string, readonly string[]>>): Discovery {
  return {
    name: 'endpoint',
    shared: true,
    discover: async (type) => [...(catalog[type ?? ''] ?? [])],
  };
}

/** `url:<url>`: the URL itself, for pollsters of an absolute `url_path`. */
export const urlDiscovery: Discovery = {
  name: 'url',
  shared: true,
  discover: async (url) => (url ? [url] : []),
};
