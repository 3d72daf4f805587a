import {
  ARITHMETIC_ALIASES,
  COMPARISON_ALIASES,
  isAggregationMethod,
  timespanSeconds,
} from '@granary/carbonara';
import { describedAggregatesError, invalidOperations } from './errors.ts';

/** One series a query reads: a metric (id, or name pattern with resources) and an aggregation method. */
export interface MetricReference {
  metric: string;
  aggregation: string;
}

export type Operation =
  | { kind: 'metric'; references: MetricReference[] }
  | { kind: 'number'; value: number }
  | { kind: 'aggregate'; method: string; operand: Operation }
  | { kind: 'resample'; method: string; granularitySeconds: number; operand: Operation }
  | { kind: 'rolling'; method: string; window: number; operand: Operation }
  | { kind: 'rateofchange'; perSecond: boolean; operand: Operation }
  | { kind: 'unary'; operator: UnaryOperator; operand: Operation }
  | { kind: 'binary'; operator: BinaryOperator; left: Operation; right: Operation }
  | { kind: 'clip'; operand: Operation; min: Operation; max: Operation };

/** Reductions across series (`aggregate`) and along time (`rolling`), numpy's nan-aware ones. */
export const REDUCERS = ['mean', 'median', 'std', 'min', 'max', 'sum', 'var', 'count'] as const;
export type Reducer = (typeof REDUCERS)[number];

const BINARY_ALIASES = {
  ...COMPARISON_ALIASES,
  ...ARITHMETIC_ALIASES,
  clip_min: 'clip_min',
  clip_max: 'clip_max',
  max: 'fmax',
} as const;
export type BinaryOperator = (typeof BINARY_ALIASES)[keyof typeof BINARY_ALIASES];

const UNARY_ALIASES = {
  abs: 'abs',
  absolute: 'abs',
  neg: 'neg',
  negative: 'neg',
  cos: 'cos',
  sin: 'sin',
  tan: 'tan',
  floor: 'floor',
  ceil: 'ceil',
} as const;
export type UnaryOperator = (typeof UNARY_ALIASES)[keyof typeof UNARY_ALIASES];

/** The operation names Gnocchi lists as `dynamic_aggregation_methods` in its capabilities. */
export const OPERATION_NAMES: readonly string[] = [
  'metric',
  'aggregate',
  'resample',
  'rolling',
  'rateofchange',
  'rateofchangesec',
  'clip',
  ...Object.keys(BINARY_ALIASES),
  ...Object.keys(UNARY_ALIASES),
];

/** Bounds that keep a hostile expression from costing more than a 400. */
const LIMITS = { maxDepth: 32, maxNodes: 1000, maxTextLength: 65_536 };

/**
 * Parses `operations` of `POST /v1/aggregates`: the string form `(aggregate mean (metric id mean))`
 * or the same tree as nested JSON lists. Errors carry Gnocchi's descriptions.
 */
export function parseOperations(input: unknown): Operation {
  const tree = typeof input === 'string' ? parseSExpression(input) : input;
  let nodes = 0;
  const visit = (node: unknown, depth: number): Operation => {
    if (++nodes > LIMITS.maxNodes || depth > LIMITS.maxDepth)
      throw invalidOperations('Operations too complex');
    const number = asNumber(node);
    if (depth > 0 && number !== undefined) return { kind: 'number', value: number };
    if (!Array.isArray(node)) throw invalidOperations(`Expected a tuple/list, got a ${pythonTypeName(node)}`);
    if (node.length === 0) throw invalidOperations('Operation must not be empty');
    if (node.length < 2) throw invalidOperations('Operation need at least one argument');
    const [name, ...args] = node;
    const invalid = () => invalidOperations(`'${String(name)}' operation invalid`);
    const sub = (arg: unknown) => visit(arg, depth + 1);
    if (name === 'metric') return { kind: 'metric', references: metricReferences(args, invalid) };
    if (name === 'aggregate') {
      const [method, operand] = args;
      if (args.length !== 2 || !isReducer(method, true)) throw invalid();
      return { kind: 'aggregate', method, operand: sub(operand) };
    }
    if (name === 'resample') {
      const [method, granularity, operand] = args;
      // Gnocchi's utils.to_timespan: seconds, or text such as `100s` or `1 minute`.
      const seconds = timespanSeconds(granularity);
      const known = typeof method === 'string' && (isAggregationMethod(method) || isReducer(method, false));
      if (args.length !== 3 || !known || seconds === undefined || !(seconds > 0)) throw invalid();
      return {
        kind: 'resample',
        method: method as string,
        granularitySeconds: seconds,
        operand: sub(operand),
      };
    }
    if (name === 'rolling') {
      const [method, window, operand] = args;
      const size = asNumber(window);
      if (
        args.length !== 3 ||
        !isReducer(method, true) ||
        size === undefined ||
        !Number.isInteger(size) ||
        size < 1
      ) {
        throw invalid();
      }
      return { kind: 'rolling', method, window: size, operand: sub(operand) };
    }
    if (name === 'rateofchange' || name === 'rateofchangesec') {
      if (args.length !== 1) throw invalid();
      return { kind: 'rateofchange', perSecond: name === 'rateofchangesec', operand: sub(args[0]) };
    }
    if (name === 'clip') {
      if (args.length !== 3) throw invalid();
      return { kind: 'clip', operand: sub(args[0]), min: sub(args[1]), max: sub(args[2]) };
    }
    if (typeof name === 'string' && Object.hasOwn(BINARY_ALIASES, name)) {
      if (args.length !== 2) throw invalid();
      const operator = BINARY_ALIASES[name as keyof typeof BINARY_ALIASES];
      return { kind: 'binary', operator, left: sub(args[0]), right: sub(args[1]) };
    }
    if (typeof name === 'string' && Object.hasOwn(UNARY_ALIASES, name)) {
      if (args.length !== 1) throw invalid();
      return {
        kind: 'unary',
        operator: UNARY_ALIASES[name as keyof typeof UNARY_ALIASES],
        operand: sub(args[0]),
      };
    }
    throw invalid();
  };
  return visit(tree, 0);
}

/** Every series the operations read, each once, in order of first appearance. */
export function referencesOf(operation: Operation): MetricReference[] {
  const seen = new Map<string, MetricReference>();
  const walk = (op: Operation): void => {
    switch (op.kind) {
      case 'metric':
        for (const ref of op.references) seen.set(referenceKey(ref), ref);
        return;
      case 'number':
        return;
      case 'binary':
        walk(op.left);
        walk(op.right);
        return;
      case 'clip':
        walk(op.operand);
        walk(op.min);
        walk(op.max);
        return;
      default:
        walk(op.operand);
    }
  };
  walk(operation);
  return [...seen.values()];
}

/**
 * The same operations with each reference replaced by those it stands for: `/v1/aggregates` with a
 * resource search turns a metric name pattern into the matching metrics of the found resources. A
 * reference may stand for none (its `metric` node then reads no series).
 */
export function expandReferences(
  operation: Operation,
  expand: (reference: MetricReference) => readonly MetricReference[],
): Operation {
  const map = (op: Operation): Operation => {
    switch (op.kind) {
      case 'metric':
        return { kind: 'metric', references: op.references.flatMap((ref) => [...expand(ref)]) };
      case 'number':
        return op;
      case 'binary':
        return { ...op, left: map(op.left), right: map(op.right) };
      case 'clip':
        return { ...op, operand: map(op.operand), min: map(op.min), max: map(op.max) };
      default:
        return { ...op, operand: map(op.operand) };
    }
  };
  return map(operation);
}

export const referenceKey = (ref: MetricReference): string => `${ref.metric}\u0000${ref.aggregation}`;

/** `["metric", id, agg]` or `["metric", [id, agg], [id, agg], …]`. */
function metricReferences(args: unknown[], invalid: () => Error): MetricReference[] {
  const pair = (value: unknown): MetricReference | undefined =>
    Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')
      ? { metric: value[0] as string, aggregation: value[1] as string }
      : undefined;
  const single = pair(args);
  if (single) return [single];
  const many = args.map(pair);
  if (many.length === 0 || many.some((ref) => ref === undefined)) throw invalid();
  return many as MetricReference[];
}

function isReducer(method: unknown, allowRate: boolean): method is string {
  if (typeof method !== 'string') return false;
  const plain = allowRate && method.startsWith('rate:') ? method.slice('rate:'.length) : method;
  return (REDUCERS as readonly string[]).includes(plain);
}

/** Numbers, also as text: the string form's atoms are all text. */
function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i.test(value))
    return Number(value);
  return undefined;
}

function pythonTypeName(value: unknown): string {
  if (value === null) return "<class 'NoneType'>";
  if (typeof value === 'object') return "<class 'dict'>";
  if (typeof value === 'string') return "<class 'str'>";
  if (typeof value === 'boolean') return "<class 'bool'>";
  return "<class 'float'>";
}

/**
 * pyparsing's `OneOrMore(nestedExpr())` as Gnocchi uses it: the first parenthesised expression,
 * atoms separated by whitespace, quoted strings kept whole; what follows it is ignored.
 */
function parseSExpression(text: string): unknown[] {
  const fail = (why: string) =>
    describedAggregatesError('AGGREGATES_INVALID_OPERATIONS', {
      cause: 'Invalid operations',
      reason: 'Fail to parse the operations string',
      detail: why,
    });
  if (text.length > LIMITS.maxTextLength) throw fail(`longer than ${LIMITS.maxTextLength} characters`);
  const tokens = text.match(/\(|\)|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s()]+/g) ?? [];
  if (tokens[0] !== '(') throw fail(`Expected "(" (at char 0), (line:1, col:1)`);
  const stack: unknown[][] = [];
  for (const token of tokens) {
    if (token === '(') {
      if (stack.length >= LIMITS.maxDepth) throw fail('nested too deeply');
      stack.push([]);
    } else if (token === ')') {
      const done = stack.pop();
      if (!done) throw fail('unbalanced ")"');
      if (stack.length === 0) return done;
      stack.at(-1)!.push(done);
    } else {
      const quoted = /^(["']).*\1$/.test(token);
      stack.at(-1)!.push(quoted ? token.slice(1, -1) : token);
    }
  }
  throw fail(`Expected ")" (at char ${text.length}), (line:1, col:${text.length + 1})`);
}
