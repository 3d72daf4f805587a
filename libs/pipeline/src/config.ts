import { meterListProblem } from '@granary/polling';
import { parse as parseYaml } from 'yaml';
import { pipelineErrors } from './errors.ts';

export interface TransformerDefinition {
  name: string;
  parameters: Record<string, unknown>;
}

/** A publisher URL of a sink; Ceilometer appends `://` to a bare name (`gnocchi` → `gnocchi://`). */
export interface PublisherDefinition {
  url: string;
  scheme: string;
  /** Query parameters of the URL (`gnocchi://?archive_policy=high`). */
  options: Record<string, string>;
}

export interface SinkDefinition {
  name: string;
  transformers: TransformerDefinition[];
  publishers: PublisherDefinition[];
}

export interface SourceDefinition {
  name: string;
  /** Ceilometer meter filter: fnmatch patterns and `!pattern` exclusions. */
  meters: string[];
  sinks: string[];
}

/** A parsed pipeline.yaml. No sources and no sinks means every sample passes through unchanged. */
export interface PipelineDefinition {
  sources: SourceDefinition[];
  sinks: SinkDefinition[];
}

export const PASS_THROUGH: PipelineDefinition = { sources: [], sinks: [] };

function invalid(origin: string, problem: string): Error {
  return pipelineErrors('PIPELINE_CONFIG_INVALID', `${origin}: ${problem}`);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function stringList(value: unknown, where: string, origin: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))
    throw invalid(origin, `${where} must be a list of strings`);
  return value as string[];
}

function uniqueNames<T extends { name: string }>(items: T[], kind: string, origin: string): void {
  const seen = new Set<string>();
  for (const { name } of items) {
    if (seen.has(name)) throw invalid(origin, `duplicated ${kind} names: ${name}`);
    seen.add(name);
  }
}

function parsePublisher(url: string): PublisherDefinition {
  const full = url.includes('://') ? url : `${url}://`;
  const scheme = full.slice(0, full.indexOf('://'));
  const query = full.includes('?') ? full.slice(full.indexOf('?') + 1) : '';
  return { url: full, scheme, options: Object.fromEntries(new URLSearchParams(query)) };
}

function parseSource(raw: unknown, index: number, origin: string): SourceDefinition {
  if (!isObject(raw) || typeof raw.name !== 'string' || raw.name === '')
    throw invalid(origin, `source #${index + 1} needs a name`);
  const where = `source '${raw.name}'`;
  // Mitaka's sources also carried `interval`, which polling.yaml took over; it is accepted and unused.
  const meters = stringList(raw.meters, `${where}: meters`, origin);
  const problem = meterListProblem(meters);
  if (problem) throw invalid(origin, `${where}: ${problem}`);
  const sinks = stringList(raw.sinks, `${where}: sinks`, origin);
  if (sinks.length === 0) throw invalid(origin, `${where}: no sink`);
  return { name: raw.name, meters, sinks };
}

function parseSink(raw: unknown, index: number, origin: string): SinkDefinition {
  if (!isObject(raw) || typeof raw.name !== 'string' || raw.name === '')
    throw invalid(origin, `sink #${index + 1} needs a name`);
  const where = `sink '${raw.name}'`;
  // `transformers:` left empty in YAML reads as null, as in Ceilometer's own Mitaka file.
  const rawTransformers = raw.transformers ?? [];
  if (!Array.isArray(rawTransformers)) throw invalid(origin, `${where}: transformers must be a list`);
  const transformers = rawTransformers.map((t, i): TransformerDefinition => {
    if (!isObject(t) || typeof t.name !== 'string')
      throw invalid(origin, `${where}: transformer #${i + 1} needs a name`);
    const parameters = t.parameters ?? {};
    if (!isObject(parameters))
      throw invalid(origin, `${where}: parameters of transformer '${t.name}' must be a mapping`);
    return { name: t.name, parameters };
  });
  const publishers = stringList(raw.publishers, `${where}: publishers`, origin);
  if (publishers.length === 0) throw invalid(origin, `${where}: no publisher`);
  return { name: raw.name, transformers, publishers: publishers.map(parsePublisher) };
}

/**
 * Parse pipeline.yaml as Ceilometer's `PipelineManager` does: `sources` and `sinks` both present,
 * names unique, every sink a source names defined, `source:sink` pairs unique. An empty document
 * is the pass-through pipeline. Transformer parameters are checked when the pipeline is built.
 */
export function parsePipelineConfig(text: string, origin = 'pipeline.yaml'): PipelineDefinition {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (cause) {
    throw pipelineErrors('PIPELINE_CONFIG_INVALID', `${origin}: not valid YAML`, { cause });
  }
  if (document === null || document === undefined) return PASS_THROUGH;
  if (!isObject(document)) throw invalid(origin, 'the document must be a mapping');
  if (document.sources === undefined && document.sinks === undefined) return PASS_THROUGH;
  if (!Array.isArray(document.sources)) throw invalid(origin, 'sources must be a list');
  if (!Array.isArray(document.sinks)) throw invalid(origin, 'sinks must be a list');
  const sources = document.sources.map((s, i) => parseSource(s, i, origin));
  const sinks = document.sinks.map((s, i) => parseSink(s, i, origin));
  uniqueNames(sources, 'source', origin);
  uniqueNames(sinks, 'sink', origin);
  const sinkNames = new Set(sinks.map((s) => s.name));
  for (const source of sources) {
    for (const sink of source.sinks) {
      if (!sinkNames.has(sink)) throw invalid(origin, `source '${source.name}': no sink named '${sink}'`);
    }
    if (new Set(source.sinks).size !== source.sinks.length)
      throw invalid(origin, `source '${source.name}': duplicate pipeline name (a sink listed twice)`);
  }
  return { sources, sinks };
}
