import { described } from './errors.ts';

export interface SortKey {
  key: string;
  direction: 'asc' | 'desc';
  nulls: 'first' | 'last';
}

/** What a sortable name orders by; `nullable` false lets the keyset condition use row comparisons. */
export interface SortExpression {
  sql: string;
  nullable: boolean;
}

/** A sort key resolved to the SQL expression it orders by. */
export interface ResolvedSortKey extends SortKey, SortExpression {}

/** Keyset pagination input; `sort` uses Gnocchi's `key[:asc|desc][-nullsfirst|-nullslast]` syntax. */
export interface PageRequest {
  sort?: readonly string[];
  limit?: number;
  marker?: string;
}

/** Distinct sort keys one request may name. */
export const MAX_SORT_KEYS = 16;

/** Gnocchi's InvalidPagination text, which every endpoint passes on as it is (`sorts`, `groupby`, markers). */
const invalid = (why: string) => described('INDEX_INVALID_PAGINATION', `Invalid pagination: \`${why}'`);

/** Gnocchi's sort syntax; the default null placement is PostgreSQL's (last when ascending). */
export function parseSortKey(spec: string): SortKey {
  const [key = '', dir = 'asc', ...rest] = spec.split(':');
  const m = /^(asc|desc)(?:-(nullsfirst|nullslast))?$/.exec(dir);
  if (!key || rest.length > 0 || !m) throw invalid(`Invalid sort direction: ${spec}`);
  const direction = m[1] as 'asc' | 'desc';
  const nulls = m[2] ? (m[2] === 'nullsfirst' ? 'first' : 'last') : direction === 'asc' ? 'last' : 'first';
  return { key, direction, nulls };
}

/**
 * Resolves the requested sort (or the default) against the sortable expressions, then appends the
 * unique keys that make the order total, so a marker always designates one position.
 */
export function resolveSort(
  requested: readonly string[] | undefined,
  defaults: readonly string[],
  sortable: (key: string) => SortExpression | undefined,
  uniqueKeys: readonly string[],
): ResolvedSortKey[] {
  const asked = requested && requested.length > 0 ? requested : defaults;
  // Each key costs a term per key before it in the marker condition: a repeated key adds nothing
  // to the order but would grow the SQL quadratically, so later repeats are dropped and the
  // number of distinct keys is capped.
  const keys: SortKey[] = [];
  for (const spec of asked) {
    const key = parseSortKey(spec);
    if (keys.some((k) => k.key === key.key)) continue;
    if (keys.length >= MAX_SORT_KEYS) throw invalid(`Too many sort keys: at most ${MAX_SORT_KEYS}`);
    keys.push(key);
  }
  for (const unique of uniqueKeys) {
    if (!keys.some((k) => k.key === unique)) keys.push({ key: unique, direction: 'asc', nulls: 'last' });
  }
  return keys.map((k) => {
    const expression = sortable(k.key);
    if (!expression) throw invalid(`Sort key supplied is invalid: ${k.key}`);
    return { ...k, ...expression };
  });
}

export function validateLimit(limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined;
  if (!Number.isSafeInteger(limit) || limit < 1) throw invalid(`Invalid limit: ${limit}`);
  return limit;
}

export const invalidMarker = (marker: string) => invalid(`Invalid marker: \`${marker}'`);

export const orderByClause = (keys: readonly ResolvedSortKey[]): string =>
  keys.map((k) => `${k.sql} ${k.direction.toUpperCase()} NULLS ${k.nulls.toUpperCase()}`).join(', ');

/** The marker row's sort values, selected as `k0, k1, …` in a CTE named as `afterMarkerCondition`'s. */
export const markerColumns = (keys: readonly ResolvedSortKey[]): string =>
  keys.map((k, i) => `${k.sql} AS k${i}`).join(', ');

/**
 * Rows strictly after the marker in the given order: for some key i, all earlier keys equal the
 * marker's and key i comes after it. NULLs are placed as the ORDER BY places them. When every key
 * is non-null and sorted the same way, this is a row comparison, which a matching index serves.
 */
export function afterMarkerCondition(keys: readonly ResolvedSortKey[], marker: string): string {
  // Scalar subqueries become init-plan parameters the planner can use as index bounds (a join cannot).
  const markerValue = (i: number) => `(SELECT k${i} FROM ${marker})`;
  if (keys.every((k) => !k.nullable && k.direction === keys[0]!.direction)) {
    const op = keys[0]!.direction === 'asc' ? '>' : '<';
    return `(${keys.map((k) => k.sql).join(', ')}) ${op} (${keys.map((_, i) => markerValue(i)).join(', ')})`;
  }
  const after = (k: ResolvedSortKey, m: string): string => {
    const beyond = k.direction === 'asc' ? `${k.sql} > ${m}` : `${k.sql} < ${m}`;
    if (!k.nullable) return beyond;
    return k.nulls === 'last'
      ? `(${m} IS NOT NULL AND (${beyond} OR ${k.sql} IS NULL))`
      : `((${m} IS NULL AND ${k.sql} IS NOT NULL) OR ${beyond})`;
  };
  const equal = (k: ResolvedSortKey, m: string) =>
    k.nullable ? `${k.sql} IS NOT DISTINCT FROM ${m}` : `${k.sql} = ${m}`;
  const alternatives = keys.map((k, i) => {
    const equalBefore = keys.slice(0, i).map((e, j) => equal(e, markerValue(j)));
    return `(${[...equalBefore, after(k, markerValue(i))].join(' AND ')})`;
  });
  return `(${alternatives.join(' OR ')})`;
}
