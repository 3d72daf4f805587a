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

// A JSON string (skipped: its digits are not numbers) or a number token, Python's included.
const STRING_OR_NUMBER = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * Compares two JSON texts whose values already agree (firstDifference): the same bytes but for
 * numbers of different values within the tolerance. An equal number in other digits (`60` for
 * Gnocchi's `60.0`, `1e-5` for `1e-05`), another separator or key order is a difference.
 */
export function firstTextDifference(expected: string, actual: string): string | undefined {
  const a = numbersOf(expected);
  const b = numbersOf(actual);
  if (a.shape !== b.shape) {
    let at = 0;
    while (a.shape[at] === b.shape[at]) at++;
    const around = (shape: string) => JSON.stringify(shape.slice(Math.max(0, at - 40), at + 40));
    return `text at ${at} (# a number): ${around(a.shape)} ≠ ${around(b.shape)}`;
  }
  for (const [i, text] of a.numbers.entries()) {
    const other = b.numbers[i] as string;
    if (text !== other && Number(text) === Number(other)) return `number ${i}: ${text} written ${other}`;
  }
  return undefined;
}

function numbersOf(text: string): { shape: string; numbers: string[] } {
  const numbers: string[] = [];
  const shape = text.replace(STRING_OR_NUMBER, (token) => {
    if (token.startsWith('"')) return token;
    numbers.push(token);
    return '#';
  });
  return { shape, numbers };
}
