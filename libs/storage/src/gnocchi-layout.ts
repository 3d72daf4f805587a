import { pyFloatRepr } from '@granary/python-format';
import { storageErrors } from './errors.ts';
import type { ObjectStore } from './object-store.ts';

/**
 * Gnocchi's S3 object layout for compacted state, so Gnocchi tools read ours and we read theirs:
 * `<metric uuid>/none_v3` (raw tail) and `<metric uuid>/<method>_<granularity s>_<split key s>_v3`,
 * numbers as Python float repr of seconds. The bytes inside are @granary/carbonara's v3 codecs.
 */

/** One compacted split of one aggregation, times in epoch microseconds. */
export interface SplitRef {
  readonly method: string;
  readonly granularityUs: number;
  /** Start of the split (Gnocchi's SplitKey), epoch µs. */
  readonly splitKeyUs: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const METHOD = /^(rate:)?[a-z0-9]+$/;
const FORMAT_SUFFIX = '_v3';
const RAW_TAIL_NAME = `none${FORMAT_SUFFIX}`;
const US_PER_SECOND = 1_000_000;

function assertMetricId(metricId: string): void {
  if (!UUID.test(metricId)) throw storageErrors('STORAGE_INVALID_LAYOUT_KEY', `metric id ${metricId}`);
}

function assertMethod(method: string): void {
  if (!METHOD.test(method)) throw storageErrors('STORAGE_INVALID_LAYOUT_KEY', `method ${method}`);
}

/** Microseconds as Gnocchi prints seconds: 60_000_000 → "60.0", 200_000 → "0.2". */
export function secondsText(microseconds: number): string {
  return pyFloatRepr(microseconds / US_PER_SECOND);
}

/** Gnocchi seconds text back to whole microseconds (the finest resolution Granary keeps). */
function microsecondsOf(text: string): number | undefined {
  if (!/^-?\d+(\.\d+)?(e[+-]\d+)?$/.test(text)) return undefined;
  return Math.round(Number(text) * US_PER_SECOND);
}

export function rawTailKey(metricId: string): string {
  assertMetricId(metricId);
  return `${metricId}/${RAW_TAIL_NAME}`;
}

export function splitObjectKey(metricId: string, split: SplitRef): string {
  assertMetricId(metricId);
  assertMethod(split.method);
  return `${metricId}/${split.method}_${secondsText(split.granularityUs)}_${secondsText(split.splitKeyUs)}${FORMAT_SUFFIX}`;
}

/** The split a key names, or undefined for any other key (the raw tail, foreign objects). */
export function parseSplitObjectKey(key: string): ({ metricId: string } & SplitRef) | undefined {
  const slash = key.indexOf('/');
  const metricId = key.slice(0, slash);
  const name = key.slice(slash + 1);
  if (slash < 0 || !UUID.test(metricId) || !name.endsWith(FORMAT_SUFFIX)) return undefined;
  // Methods never contain `_`, so the name splits into exactly three fields.
  const fields = name.slice(0, -FORMAT_SUFFIX.length).split('_');
  if (fields.length !== 3) return undefined;
  const [method = '', granularityText = '', splitKeyText = ''] = fields;
  const granularityUs = microsecondsOf(granularityText);
  const splitKeyUs = microsecondsOf(splitKeyText);
  if (!METHOD.test(method) || granularityUs === undefined || splitKeyUs === undefined) return undefined;
  return { metricId, method, granularityUs, splitKeyUs };
}

/**
 * The stored splits of a metric, optionally of one method and granularity, ordered by method, then
 * granularity, then time. Listing uses the narrowest prefix Gnocchi's names allow.
 */
export async function listSplitKeys(
  store: ObjectStore,
  metricId: string,
  method?: string,
  granularityUs?: number,
): Promise<SplitRef[]> {
  assertMetricId(metricId);
  let prefix = `${metricId}/`;
  if (method !== undefined) {
    assertMethod(method);
    prefix += `${method}_`;
    if (granularityUs !== undefined) prefix += `${secondsText(granularityUs)}_`;
  }
  const splits: SplitRef[] = [];
  for (const key of await store.list(prefix)) {
    const parsed = parseSplitObjectKey(key);
    if (!parsed || (granularityUs !== undefined && parsed.granularityUs !== granularityUs)) continue;
    splits.push({
      method: parsed.method,
      granularityUs: parsed.granularityUs,
      splitKeyUs: parsed.splitKeyUs,
    });
  }
  return splits.sort(
    (a, b) =>
      (a.method < b.method ? -1 : a.method > b.method ? 1 : 0) ||
      a.granularityUs - b.granularityUs ||
      a.splitKeyUs - b.splitKeyUs,
  );
}

/** Delete every object of a metric (raw tail and all splits). */
export async function deleteMetric(store: ObjectStore, metricId: string): Promise<void> {
  assertMetricId(metricId);
  await store.delete(await store.list(`${metricId}/`));
}
