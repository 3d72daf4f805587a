import { telemetryErrors } from './errors.ts';

/** Deepest `resource_metadata` accepted: far beyond any real one, far below what recursion can bear. */
export const MAX_METADATA_DEPTH = 64;

/**
 * Refuses a value nested deeper than `maxDepth` objects or arrays (a scalar is depth 0). Walks
 * with an explicit stack, so it is safe on any input; recursive code (signing, flattening,
 * transformers) runs only on values that passed.
 */
export function assertBoundedDepth(value: unknown, what: string, maxDepth = MAX_METADATA_DEPTH): void {
  const pending: Array<[unknown, number]> = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [current, depth] = next;
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > maxDepth)
      throw telemetryErrors('TELEMETRY_TOO_DEEP', `${what} nests deeper than ${maxDepth} levels`);
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
}
