/**
 * Gnocchi's statsd daemon (`gnocchi/statsd.py`): lines `name:value|type[|@rate]`, several per
 * datagram separated by newlines. Per flush interval a gauge (`g`) and a timer (`ms`) keep their
 * last value, a counter (`c`) sums `value / rate`; each becomes one measure, stamped when it was
 * last updated, of the metric named `name|type`, and the state is cleared.
 */
export type StatsdType = 'c' | 'g' | 'ms';

export interface StatsdLine {
  name: string;
  type: StatsdType;
  value: number;
  /** `@rate` of a counter; Gnocchi refuses it on gauges and timers. */
  sampling: number | undefined;
}

export type StatsdProblem = 'encoding' | 'fields' | 'name' | 'value' | 'type' | 'sampling';

export interface ParsedDatagram {
  lines: StatsdLine[];
  /** One entry per line refused (a datagram that is not UTF-8 is one `encoding` problem). */
  problems: { line: string; problem: StatsdProblem }[];
}

/** Python's float() on the text a client sends, without nan and inf (a measure must be finite). */
const NUMBER = /^\s*[+-]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?\s*$/;
const TYPES: ReadonlySet<string> = new Set(['c', 'g', 'ms']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

function pythonFloat(text: string): number | undefined {
  if (!NUMBER.test(text) || /_(?!\d)|(?<!\d)_/.test(text.trim())) return undefined;
  const value = Number(text.trim().replaceAll('_', ''));
  return Number.isFinite(value) ? value : undefined;
}

/**
 * The lines of one datagram. Where Gnocchi lets an exception end the datagram (an unreadable
 * rate, a line without exactly one `:`), the line is refused and the next ones are still read.
 */
export function parseStatsdDatagram(datagram: Uint8Array): ParsedDatagram {
  let text: string;
  try {
    text = utf8.decode(datagram);
  } catch {
    return { lines: [], problems: [{ line: '', problem: 'encoding' }] };
  }
  const lines: StatsdLine[] = [];
  const problems: ParsedDatagram['problems'] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const refuse = (problem: StatsdProblem) => problems.push({ line: line.slice(0, 200), problem });
    const fields = line.split('|');
    if (fields.length !== 2 && fields.length !== 3) {
      refuse('fields');
      continue;
    }
    const [nameAndValue, type, rate] = fields as [string, string, string | undefined];
    const parts = nameAndValue.split(':');
    if (parts.length !== 2) {
      refuse('fields');
      continue;
    }
    const [name, valueText] = parts as [string, string];
    // Gnocchi's metric names cannot hold '/'; an empty one names nothing.
    if (name === '' || name.includes('/')) {
      refuse('name');
      continue;
    }
    const value = pythonFloat(valueText);
    if (value === undefined) {
      refuse('value');
      continue;
    }
    if (!TYPES.has(type)) {
      refuse('type');
      continue;
    }
    let sampling: number | undefined;
    if (rate !== undefined) {
      sampling = pythonFloat(rate.slice(1));
      // Gnocchi: a rate on a gauge or a timer is an error, and a zero rate divides by zero.
      if (sampling === undefined || sampling === 0 || type !== 'c') {
        refuse('sampling');
        continue;
      }
    }
    lines.push({ name, type: type as StatsdType, value, sampling });
  }
  return { lines, problems };
}

export interface StatsdMeasure {
  /** Gnocchi's metric name: `name|type`. */
  metric: string;
  /** Epoch microseconds of the last update in the interval. */
  timestamp: number;
  value: number;
}

/**
 * The state between two flushes. At most `maxNames` distinct metrics are held: a line of a new
 * name beyond that is dropped (and counted by the caller), so memory stays bounded whatever the
 * clients send.
 */
export class StatsdAggregator {
  private readonly current = new Map<string, StatsdMeasure>();

  constructor(private readonly maxNames: number) {}

  /** False when the line was dropped because the interval already holds `maxNames` metrics. */
  add(line: StatsdLine, nowMicros: number): boolean {
    const metric = `${line.name}|${line.type}`;
    const previous = this.current.get(metric);
    if (!previous && this.current.size >= this.maxNames) return false;
    const value =
      line.type === 'c' ? (previous?.value ?? 0) + line.value * (1 / (line.sampling ?? 1)) : line.value;
    this.current.set(metric, { metric, timestamp: nowMicros, value });
    return true;
  }

  /** The interval's measures; the state starts empty again. */
  flush(): StatsdMeasure[] {
    const measures = [...this.current.values()];
    this.current.clear();
    return measures;
  }
}
