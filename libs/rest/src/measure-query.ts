import { ARITHMETIC_ALIASES, type Arithmetic, COMPARISON_ALIASES, type Comparison } from '@granary/carbonara';
import { describedRestError } from './errors.ts';

/**
 * Gnocchi's measure search language (`SearchMetricController.MeasureQuery`), pure: a tree of
 * one-key objects over the measure's value, e.g. `{"and": [{">=": 10}, {"<": {"%": …}}]}`.
 * `{op: n}` applies `op` to the value and `n`; `{op: [a, b]}` to two sub-expressions (numbers are
 * constants, objects are evaluated against the value); `and`/`or` hold a list of queries.
 */
export interface MeasureQuery {
  matches(value: number): boolean;
  /** Nodes of the query: the work of one `matches`, for the caller's cost bound. */
  nodes: number;
}

/** Operators the schema accepts; `not` is among them, but Gnocchi's evaluator then refuses it. */
type Binary = (a: number, b: number) => number;
const BINARY_BY_NAME: Readonly<Record<Comparison | Arithmetic, Binary>> = {
  eq: (a, b) => Number(a === b),
  lt: (a, b) => Number(a < b),
  gt: (a, b) => Number(a > b),
  le: (a, b) => Number(a <= b),
  ge: (a, b) => Number(a >= b),
  ne: (a, b) => Number(a !== b),
  // Python's float modulo takes the sign of the divisor.
  mod: (a, b) => a - b * Math.floor(a / b),
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
};
const BINARY: ReadonlyMap<string, Binary> = new Map(
  Object.entries({ ...COMPARISON_ALIASES, ...ARITHMETIC_ALIASES }).map(([alias, name]) => [
    alias,
    BINARY_BY_NAME[name],
  ]),
);
// Gnocchi's schema lists `∨` with `and` and `∧` with `or`, its evaluator the other way round; the
// evaluator decides what they mean.
const MULTIPLE: ReadonlyMap<string, 'all' | 'any'> = new Map([
  ...aliases(['and', '∧'], 'all' as const),
  ...aliases(['or', '∨'], 'any' as const),
]);
const NOT = 'not';

/** Every operator name the language knows (for `/openapi.json`). */
export const MEASURE_QUERY_OPERATORS: readonly string[] = [...BINARY.keys(), ...MULTIPLE.keys()];

/** Nodes one query may have: each is evaluated once per point of every series searched. */
export const MAX_QUERY_NODES = 256;

function aliases<T>(names: readonly string[], value: T): [string, T][] {
  return names.map((name) => [name, value]);
}

type Evaluator = (value: number) => number;

const invalid = (reason: string) =>
  describedRestError('REST_INVALID_INPUT', { cause: 'Invalid input', reason, detail: [] });

/** Python's truth value of a number: only zero is false (NaN is true). */
const truthy = (x: number) => x !== 0;

/** A JSON number, or a boolean as Python's `bool` is an `int`. */
function constant(node: unknown): number | undefined {
  if (typeof node === 'number') return node;
  if (typeof node === 'boolean') return Number(node);
  return undefined;
}

function singleEntry(node: unknown): [string, unknown] | undefined {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
  const entries = Object.entries(node);
  return entries.length === 1 ? entries[0] : undefined;
}

/**
 * Checks a query against Gnocchi's schema and compiles it. Refusals are 400s: a shape the schema
 * rejects, `not` (accepted by the schema, unknown to the evaluator, as in Gnocchi), too many nodes.
 * Arithmetic is IEEE double, as Gnocchi's on numpy float64 values: `x / 0` is ±inf, `0 / 0` NaN.
 */
export function compileMeasureQuery(query: unknown): MeasureQuery {
  let nodes = 0;
  const count = () => {
    if (++nodes > MAX_QUERY_NODES) throw invalid(`Query has more than ${MAX_QUERY_NODES} nodes`);
  };

  /** An operation: `{op: number}` or `{op: [operand, operand]}`, an operand a number or an operation. */
  const operation = (node: unknown): Evaluator => {
    count();
    const entry = singleEntry(node);
    const op = entry && BINARY.get(entry[0]);
    if (!entry || !op) throw invalid(`Invalid operation: ${JSON.stringify(node)}`);
    const [name, argument] = entry;
    const single = constant(argument);
    if (single !== undefined) return (value) => op(value, single);
    if (!Array.isArray(argument) || argument.length !== 2) {
      throw invalid(`Binary operator ${name} needs a number or 2 arguments`);
    }
    const [left, right] = argument.map((operand): Evaluator => {
      const fixed = constant(operand);
      if (fixed !== undefined) {
        count();
        return () => fixed;
      }
      return operation(operand);
    }) as [Evaluator, Evaluator];
    return (value) => op(left(value), right(value));
  };

  const search = (node: unknown): Evaluator => {
    const entry = singleEntry(node);
    if (entry && (MULTIPLE.has(entry[0]) || entry[0] === NOT)) {
      count();
      const [name, children] = entry;
      if (!Array.isArray(children)) throw invalid(`${name} needs a list of queries`);
      const elements = children.map(search);
      if (name === NOT) throw invalid('Unknown operator not');
      return MULTIPLE.get(name) === 'all'
        ? (value) => Number(elements.every((e) => truthy(e(value))))
        : (value) => Number(elements.some((e) => truthy(e(value))));
    }
    return operation(node);
  };

  const evaluate = search(query);
  return { matches: (value) => truthy(evaluate(value)), nodes };
}
