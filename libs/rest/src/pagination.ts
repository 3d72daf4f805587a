import type { FastifyReply, FastifyRequest } from 'fastify';
import { describedRestError } from './errors.ts';
import { pythonQuotePlus } from './http.ts';
import type { PageRequest } from './ports.ts';

/** A query string as fastify parses it: repeated keys become arrays. */
export type Query = Record<string, string | string[] | undefined>;

/** All values of a query parameter, in order. */
export function queryValues(query: Query, key: string): string[] {
  const value = query[key];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** The last value of a query parameter (Gnocchi reads single-valued parameters that way). */
export function queryValue(query: Query, key: string): string | undefined {
  return queryValues(query, key).at(-1);
}

/**
 * Gnocchi's pagination options: `limit` (default and ceiling: the configured max limit), `marker`,
 * repeated `sort`. A limit that is not a positive integer is a 400.
 */
export function pageRequest(query: Query, maxLimit: number): PageRequest & { limit: number } {
  const rawLimit = queryValue(query, 'limit');
  let limit = maxLimit;
  if (rawLimit !== undefined) {
    const parsed = /^\d+$/.test(rawLimit.trim()) ? Number(rawLimit) : Number.NaN;
    if (!(parsed >= 1)) throw describedRestError('REST_INVALID_INPUT', `Invalid limit: ${rawLimit}`);
    limit = Math.min(parsed, maxLimit);
  }
  const marker = queryValue(query, 'marker');
  const sort = queryValues(query, 'sort');
  return { limit, ...(marker !== undefined ? { marker } : {}), ...(sort.length > 0 ? { sort } : {}) };
}

/** Gnocchi's default orders, which its `Link` headers spell out when the request named none. */
export const DEFAULT_SORT = {
  resources: ['revision_start:asc', 'started_at:asc'],
  metrics: ['id:asc'],
} as const;

/**
 * When a page is full, Gnocchi adds `Link: <url?params>; rel="next"`: the request's parameters
 * sorted by name (repeated ones in their order), with the effective limit, sort and next marker.
 */
export function setNextLink<Item>(
  request: FastifyRequest,
  reply: FastifyReply,
  baseUrl: string,
  page: PageRequest & { limit: number },
  defaultSort: readonly string[],
  items: readonly Item[],
  markerOf: (last: Item) => string,
): void {
  const last = items.at(-1);
  if (last === undefined || items.length < page.limit) return;
  const query: Query = {
    ...(request.query as Query),
    limit: String(page.limit),
    marker: markerOf(last),
    sort: [...(page.sort ?? defaultSort)],
  };
  const pairs = Object.keys(query)
    .sort()
    .flatMap((key) =>
      queryValues(query, key).map((value) => `${pythonQuotePlus(key)}=${pythonQuotePlus(value)}`),
    );
  const path = request.url.split('?')[0];
  reply.header('link', `<${baseUrl}${path}?${pairs.join('&')}>; rel="next"`);
}
