import { readFile } from 'node:fs/promises';
import { LineCounter, type Node, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { pollingErrors } from './errors.ts';
import { MeterFilter, meterListProblem } from './meters.ts';

/** One `sources` entry of polling.yaml. */
export interface PollingSource {
  name: string;
  /** Seconds between polls. */
  interval: number;
  meters: MeterFilter;
  /** Static resources (URLs or ids), polled besides the discovered ones. */
  resources: string[];
  /** Discovery plugins, `name[:parameter]`. */
  discovery: string[];
}

export interface PollingConfig {
  sources: PollingSource[];
}

const SOURCE_KEYS = ['name', 'interval', 'meters', 'resources', 'discovery'];

/**
 * Parse and validate polling.yaml (Ceilometer's format, `PollingManager`). Every problem is
 * reported with the file, line and column at fault, as POLLING_CONFIG_INVALID.
 */
export function parsePollingConfig(text: string, file = 'polling.yaml'): PollingConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true });
  const invalid = (offset: number, problem: string): Error => {
    const { line, col } = lineCounter.linePos(offset);
    return pollingErrors('POLLING_CONFIG_INVALID', `${file}:${line}:${col}: ${problem}`, {
      details: { file, line, column: col },
    });
  };
  const [syntaxError] = document.errors;
  if (syntaxError) throw invalid(syntaxError.pos[0], syntaxError.message.split('\n')[0]!);
  const at = (node: Node | null | undefined) => node?.range?.[0] ?? 0;

  const root = document.contents;
  if (!isMap(root)) throw invalid(at(root), 'expected a mapping with a "sources" list');
  const sourcesNode = root.get('sources', true);
  if (!isSeq(sourcesNode)) throw invalid(at(sourcesNode ?? root), '"sources" must be a list');

  const strings = (node: unknown, what: string, atLeastOne: boolean): string[] => {
    if (!isSeq(node)) throw invalid(at(node as Node), `${what} must be a list of strings`);
    if (atLeastOne && node.items.length === 0) throw invalid(at(node), `${what} must not be empty`);
    return node.items.map((item) => {
      if (!isScalar(item) || typeof item.value !== 'string' || item.value === '') {
        throw invalid(at(item as Node), `${what} must hold non-empty strings`);
      }
      return item.value;
    });
  };

  const names = new Set<string>();
  const sources = sourcesNode.items.map((sourceNode): PollingSource => {
    if (!isMap(sourceNode)) throw invalid(at(sourceNode as Node), 'a source must be a mapping');
    for (const pair of sourceNode.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!SOURCE_KEYS.includes(key)) {
        throw invalid(
          at(pair.key as Node),
          `unknown source key "${key}" (expected ${SOURCE_KEYS.join(', ')})`,
        );
      }
    }
    const nameNode = sourceNode.get('name', true);
    if (!isScalar(nameNode) || typeof nameNode.value !== 'string' || nameNode.value === '') {
      throw invalid(at(nameNode ?? sourceNode), 'a source needs a "name" string');
    }
    const name = nameNode.value;
    if (names.has(name)) throw invalid(at(nameNode), `duplicate source name "${name}"`);
    names.add(name);

    const intervalNode = sourceNode.get('interval', true);
    const interval = isScalar(intervalNode) ? intervalNode.value : undefined;
    if (typeof interval !== 'number' || !Number.isInteger(interval) || interval <= 0) {
      throw invalid(
        at(intervalNode ?? sourceNode),
        `source "${name}": "interval" must be a positive integer of seconds`,
      );
    }

    const metersNode = sourceNode.get('meters', true);
    if (!metersNode) throw invalid(at(sourceNode), `source "${name}": "meters" is required`);
    const meters = strings(metersNode, `source "${name}": "meters"`, true);
    const problem = meterListProblem(meters);
    if (problem) throw invalid(at(metersNode), `source "${name}": ${problem}`);

    const optional = (key: string) => {
      const node = sourceNode.get(key, true);
      return node === undefined || (isScalar(node) && node.value === null)
        ? []
        : strings(node, `source "${name}": "${key}"`, false);
    };
    return {
      name,
      interval,
      meters: new MeterFilter(meters),
      resources: optional('resources'),
      discovery: optional('discovery'),
    };
  });
  return { sources };
}

/** Read and parse the file; a missing or unreadable file is POLLING_CONFIG_UNREADABLE. */
export async function loadPollingConfig(file: string): Promise<PollingConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw pollingErrors('POLLING_CONFIG_UNREADABLE', file, { cause });
  }
  return parsePollingConfig(text, file);
}
