/**
 * Compares two JSON answers of the same request: same structure, strings and booleans equal,
 * numbers equal within a relative tolerance (float sums in another order differ in the last bits).
 * Returns where they first differ, or undefined when they agree.
 */
export const RELATIVE_TOLERANCE = 1e-9;

export function firstDifference(expected: unknown, actual: unknown, path = '$'): string | undefined {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (Object.is(expected, actual) || expected === actual) return undefined;
    const scale = Math.max(Math.abs(expected), Math.abs(actual));
    return Math.abs(expected - actual) <= RELATIVE_TOLERANCE * scale
      ? undefined
      : `${path}: ${expected} ≠ ${actual}`;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    for (let i = 0; i < Math.min(expected.length, actual.length); i++) {
      const difference = firstDifference(expected[i], actual[i], `${path}[${i}]`);
      if (difference !== undefined) return difference;
    }
    return expected.length === actual.length
      ? undefined
      : `${path}: ${expected.length} items ≠ ${actual.length} items (first extra: ${JSON.stringify(
          expected.length > actual.length ? expected[actual.length] : actual[expected.length],
        )})`;
  }
  if (isObject(expected) && isObject(actual)) {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const key of [...keys].sort()) {
      if (!Object.hasOwn(expected, key)) return `${path}.${key}: missing in the oracle's answer`;
      if (!Object.hasOwn(actual, key)) return `${path}.${key}: missing`;
      const difference = firstDifference(expected[key], actual[key], `${path}.${key}`);
      if (difference !== undefined) return difference;
    }
    return undefined;
  }
  return expected === actual ? undefined : `${path}: ${JSON.stringify(expected)} ≠ ${JSON.stringify(actual)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
