import { carbonaraErrors } from './errors.ts';

/** The reducers behind the 216 method names; `percentile` carries its rank in `ParsedMethod.percentile`. */
export type Reducer =
  | 'mean'
  | 'sum'
  | 'last'
  | 'max'
  | 'min'
  | 'std'
  | 'median'
  | 'first'
  | 'count'
  | 'percentile';

export interface ParsedMethod {
  readonly name: string;
  readonly reducer: Reducer;
  /** 1..99 for `Npct`, 0 otherwise. */
  readonly percentile: number;
  /** `rate:X`: X over the deltas between consecutive raw points. */
  readonly rate: boolean;
}

const BASIC_METHODS = ['mean', 'sum', 'last', 'max', 'min', 'std', 'median', 'first', 'count'] as const;
const PERCENTILE_PATTERN = /^([1-9][0-9]?)pct$/;
const RATE_PREFIX = 'rate:';

const PLAIN_METHODS: readonly string[] = [
  ...BASIC_METHODS,
  ...Array.from({ length: 99 }, (_, index) => `${index + 1}pct`),
];

/** All 216 aggregation method names (Gnocchi's `/v1/capabilities`), in a stable order. */
export const AGGREGATION_METHODS: readonly string[] = [
  ...PLAIN_METHODS,
  ...PLAIN_METHODS.map((method) => `${RATE_PREFIX}${method}`),
];

/** Gnocchi's `default_aggregation_methods`. */
export const DEFAULT_AGGREGATION_METHODS: readonly string[] = ['mean', 'min', 'max', 'sum', 'std', 'count'];

const parsedMethods = new Map<string, ParsedMethod>(
  AGGREGATION_METHODS.map((name) => {
    const rate = name.startsWith(RATE_PREFIX);
    const plain = rate ? name.slice(RATE_PREFIX.length) : name;
    const percentileMatch = PERCENTILE_PATTERN.exec(plain);
    const parsed: ParsedMethod = percentileMatch
      ? { name, reducer: 'percentile', percentile: Number(percentileMatch[1]), rate }
      : { name, reducer: plain as Reducer, percentile: 0, rate };
    return [name, parsed];
  }),
);

export function isAggregationMethod(name: string): boolean {
  return parsedMethods.has(name);
}

/** Parses a method name; throws CARBONARA_UNKNOWN_METHOD for anything outside the 216. */
export function parseMethod(name: string): ParsedMethod {
  const parsed = parsedMethods.get(name);
  if (!parsed) throw carbonaraErrors('CARBONARA_UNKNOWN_METHOD', JSON.stringify(name));
  return parsed;
}

/**
 * Expands a policy's method list as Gnocchi does: the base is every method if `*` is listed, else
 * the plain names listed, else (only `+m`/`-m` entries, or none) the defaults; then `+m` adds and
 * `-m` removes, in list order.
 */
export function expandMethodList(entries: readonly string[]): string[] {
  const isEdit = (entry: string) => entry.startsWith('+') || entry.startsWith('-');
  const plainNames = entries.filter((entry) => entry !== '*' && !isEdit(entry));
  for (const name of plainNames) parseMethod(name);
  const base = entries.includes('*')
    ? AGGREGATION_METHODS
    : plainNames.length > 0
      ? plainNames
      : DEFAULT_AGGREGATION_METHODS;
  const selected = new Set<string>(base);
  for (const entry of entries.filter(isEdit)) {
    const name = entry.slice(1);
    parseMethod(name);
    if (entry.startsWith('-')) selected.delete(name);
    else selected.add(name);
  }
  return AGGREGATION_METHODS.filter((name) => selected.has(name));
}
