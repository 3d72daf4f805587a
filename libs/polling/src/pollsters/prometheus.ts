import type { CounterType } from '@granary/schema';
import { pollingErrors } from '../errors.ts';
import { httpGet } from '../http.ts';
import type { PolledSample, Pollster } from '../model.ts';

export interface PrometheusPollsterOptions {
  timeoutMs?: number;
}

interface ParsedSeries {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Units Prometheus naming conventions put in a metric name's suffix. */
const UNIT_SUFFIXES: Array<[string, string]> = [
  ['_bytes', 'B'],
  ['_seconds', 's'],
  ['_ratio', 'ratio'],
  ['_celsius', 'C'],
  ['_volts', 'V'],
  ['_joules', 'J'],
];

/** Family name of a series: histograms and summaries expose `_bucket`, `_sum`, `_count` series. */
function familyOf(series: string, types: Map<string, string>): string {
  if (types.has(series)) return series;
  for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
    const base = series.slice(0, -suffix.length);
    if (series.endsWith(suffix) && types.has(base)) return base;
  }
  return series;
}

/** Counters, histogram and summary totals accumulate; gauges, quantiles and untyped are points. */
function counterTypeOf(series: ParsedSeries, familyType: string | undefined): CounterType {
  if (familyType === 'counter') return 'cumulative';
  if (familyType === 'histogram') return 'cumulative';
  if (familyType === 'summary') return 'quantile' in series.labels ? 'gauge' : 'cumulative';
  return 'gauge';
}

/** A sample value as Go's ParseFloat reads it (Prometheus's parser): special values in any case. */
function parseValue(text: string): number {
  const special: Record<string, number> = {
    nan: Number.NaN,
    inf: Number.POSITIVE_INFINITY,
    '+inf': Number.POSITIVE_INFINITY,
    '-inf': Number.NEGATIVE_INFINITY,
  };
  const lower = text.toLowerCase();
  if (lower in special) return special[lower]!;
  return text === '' ? Number.NaN : Number(text);
}

/** Labels of `{a="x",b="y\"z"}`; returns them and the index after the closing brace. */
function parseLabels(line: string, start: number, lineNumber: number): [Record<string, string>, number] {
  // Label names come from the scraped target (`__proto__` is a valid one): no prototype.
  const labels: Record<string, string> = Object.create(null);
  let i = start + 1;
  const bad = () =>
    pollingErrors('POLLING_BAD_RESPONSE', `Prometheus text line ${lineNumber}: malformed labels`);
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return [labels, i + 1];
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i))?.[0];
    if (!name || line[i + name.length] !== '=' || line[i + name.length + 1] !== '"') throw bad();
    i += name.length + 2;
    let value = '';
    while (line[i] !== '"') {
      if (i >= line.length) throw bad();
      if (line[i] === '\\') {
        const escaped = line[i + 1];
        value += escaped === 'n' ? '\n' : (escaped ?? '');
        i += 2;
      } else value += line[i++];
    }
    labels[name] = value;
    i++;
  }
}

/** The Prometheus text exposition format (0.0.4), the sample lines with the TYPE and UNIT comments. */
export function parsePrometheusText(text: string): {
  series: ParsedSeries[];
  types: Map<string, string>;
  units: Map<string, string>;
} {
  const types = new Map<string, string>();
  const units = new Map<string, string>();
  const series: ParsedSeries[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const [, keyword, name, ...rest] = line.split(/\s+/);
      if (keyword === 'TYPE' && name) types.set(name, rest[0] ?? 'untyped');
      if (keyword === 'UNIT' && name && rest[0]) units.set(name, rest[0]);
      return;
    }
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name)
      throw pollingErrors('POLLING_BAD_RESPONSE', `Prometheus text line ${index + 1}: no metric name`);
    let [labels, next] = [{} as Record<string, string>, name.length];
    if (line[next] === '{') [labels, next] = parseLabels(line, next, index + 1);
    const valueText = line.slice(next).trim().split(/\s+/)[0] ?? '';
    const value = parseValue(valueText);
    if (Number.isNaN(value) && valueText.toLowerCase() !== 'nan') {
      throw pollingErrors(
        'POLLING_BAD_RESPONSE',
        `Prometheus text line ${index + 1}: bad value "${valueText}"`,
      );
    }
    series.push({ name, labels, value });
  });
  return { series, types, units };
}

function unitOf(family: string, units: Map<string, string>): string {
  return (
    units.get(family) ??
    UNIT_SUFFIXES.find(([suffix]) => family.replace(/_total$/, '').endsWith(suffix))?.[1] ??
    ''
  );
}

/** `{a="1",b="2"}` with sorted names, so one series keeps one resource id. */
function canonicalLabels(labels: Record<string, string>): string {
  const names = Object.keys(labels).sort();
  return names.length === 0 ? '' : `{${names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(',')}}`;
}

/**
 * Scrapes Prometheus text endpoints (the source's resources are their URLs) into samples: one per
 * series, named after the series, counters cumulative and gauges gauge, labels in the resource
 * metadata. The resource id is the endpoint's `host:port` followed by the series' labels, so every
 * series is its own resource. Values that are not finite (NaN, ±Inf) are dropped, as Ceilometer
 * drops non-numeric volumes.
 */
export function createPrometheusPollster(options: PrometheusPollsterOptions = {}): Pollster {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    name: 'prometheus',
    handles: (resource) => /^https?:\/\//.test(resource),
    async poll(resources) {
      const samples: PolledSample[] = [];
      for (const url of resources) {
        const instance = new URL(url).host;
        const { series, types, units } = parsePrometheusText(
          await httpGet(url, { timeoutMs, headers: { accept: 'text/plain;version=0.0.4' } }),
        );
        for (const one of series) {
          if (!Number.isFinite(one.value)) continue;
          const family = familyOf(one.name, types);
          samples.push({
            name: one.name,
            type: counterTypeOf(one, types.get(family)),
            unit: unitOf(family, units),
            volume: one.value,
            resourceId: `${instance}${canonicalLabels(one.labels)}`,
            metadata: { instance, ...one.labels, resource_url: url },
          });
        }
      }
      return samples;
    },
  };
}
