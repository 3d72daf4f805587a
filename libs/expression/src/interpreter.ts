import { type PyValue, compareCodePoints, pyStr } from '@granary/python-format';
import { expressionErrors } from './errors.ts';
import type { CompareOperator, Node } from './parser.ts';

/** Runtime bounds, so a hostile expression costs bounded CPU and memory. */
export interface EvaluationLimits {
  /** Nodes evaluated per `evaluate` call, lambda bodies included. */
  maxSteps: number;
  /** Nested lambda calls. */
  maxCallDepth: number;
  /** Longest string an operation may produce. */
  maxStringLength: number;
  /** Longest list an operation may produce. */
  maxListLength: number;
}

type Dict = { [key: string]: Value };
export type Value = null | boolean | number | string | Value[] | Dict | Callable;

class Callable {
  constructor(
    readonly name: string,
    readonly invoke: (args: Value[], run: Run) => Value,
  ) {}
}

class Run {
  private steps = 0;
  private callDepth = 0;
  constructor(readonly limits: EvaluationLimits) {}

  step(): void {
    if (++this.steps > this.limits.maxSteps) limit(`more than ${this.limits.maxSteps} steps`);
  }

  call(callee: Callable, args: Value[]): Value {
    if (++this.callDepth > this.limits.maxCallDepth)
      limit(`calls nested deeper than ${this.limits.maxCallDepth}`);
    try {
      return callee.invoke(args, this);
    } finally {
      this.callDepth--;
    }
  }

  text(value: string): string {
    if (value.length > this.limits.maxStringLength)
      limit(`string longer than ${this.limits.maxStringLength}`);
    return value;
  }

  list(value: Value[]): Value[] {
    if (value.length > this.limits.maxListLength) limit(`list longer than ${this.limits.maxListLength}`);
    return value;
  }

  /** Check a size before building a value of that size. */
  reserve(length: number, kind: 'string' | 'list'): void {
    const max = kind === 'string' ? this.limits.maxStringLength : this.limits.maxListLength;
    if (length > max) limit(`${kind} longer than ${max}`);
  }
}

function limit(problem: string): never {
  throw expressionErrors('EXPRESSION_LIMIT', problem);
}

function fail(problem: string): never {
  throw expressionErrors('EXPRESSION_FAILED', problem);
}

function isDict(value: unknown): value is Dict {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Callable)
    return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Values from outside (JSON documents, metadata) are accepted as they are; anything else is refused. */
function checkedInput(value: unknown, name: string): Value {
  if (value === undefined) return null;
  if (value === null || ['boolean', 'number', 'string'].includes(typeof value)) return value as Value;
  if (Array.isArray(value) || isDict(value)) return value as Value;
  return fail(`variable ${name} holds an unsupported ${typeof value}`);
}

function typeName(value: Value): string {
  if (value === null) return 'NoneType';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Callable) return 'function';
  return 'dict';
}

export function truthy(value: Value): boolean {
  if (value === null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isDict(value)) return Object.keys(value).length > 0;
  return true;
}

function asNumber(value: Value, context: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return fail(`${context}: expected a number, got ${typeName(value)}`);
}

function asString(value: Value, context: string): string {
  if (typeof value === 'string') return value;
  return fail(`${context}: expected a str, got ${typeName(value)}`);
}

function asIterable(value: Value, context: string): Value[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [...value];
  if (isDict(value)) return Object.keys(value);
  return fail(`${context}: ${typeName(value)} is not iterable`);
}

function asCallable(value: Value, context: string): Callable {
  if (value instanceof Callable) return value;
  return fail(`${context}: ${typeName(value)} is not callable`);
}

/**
 * An upper bound of the length of `str(value)`, counted before printing: a list may hold the same
 * huge list many times over (`[[0] * 10**5] * 10**5`), which only printing would multiply out.
 * Each node visited costs a step.
 */
function printedLength(value: Value, run: Run): number {
  run.step();
  if (typeof value === 'string') return value.length * 4 + 3;
  if (Array.isArray(value))
    return value.reduce<number>((total, item) => total + 2 + printedLength(item, run), 2);
  if (isDict(value)) {
    return Object.entries(value).reduce<number>(
      (total, [k, v]) => total + k.length * 4 + 6 + printedLength(v, run),
      2,
    );
  }
  return 32;
}

/** Python's `str()`. */
export function toText(value: Value): string {
  if (value instanceof Callable) return `<function ${value.name}>`;
  return pyStr(value as PyValue);
}

function equal(a: Value, b: Value, run: Run): boolean {
  run.step();
  if (
    (typeof a === 'number' || typeof a === 'boolean') &&
    (typeof b === 'number' || typeof b === 'boolean')
  ) {
    return Number(a) === Number(b);
  }
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => equal(x, b[i]!, run));
  if (isDict(a) && isDict(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((k) => Object.hasOwn(b, k) && equal(a[k]!, b[k]!, run))
    );
  }
  return a === b;
}

function order(a: Value, b: Value, run: Run): number {
  run.step();
  if (
    (typeof a === 'number' || typeof a === 'boolean') &&
    (typeof b === 'number' || typeof b === 'boolean')
  ) {
    return Number(a) - Number(b);
  }
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!equal(a[i]!, b[i]!, run)) return order(a[i]!, b[i]!, run);
    }
    return a.length - b.length;
  }
  return fail(`cannot order ${typeName(a)} and ${typeName(b)}`);
}

function contains(container: Value, item: Value, run: Run): boolean {
  if (typeof container === 'string') return container.includes(asString(item, "'in' on a str"));
  if (Array.isArray(container)) return container.some((x) => equal(x, item, run));
  if (isDict(container)) return typeof item === 'string' && Object.hasOwn(container, item);
  return fail(`argument of type ${typeName(container)} is not iterable`);
}

function compare(operator: CompareOperator, a: Value, b: Value, run: Run): boolean {
  switch (operator) {
    case '==':
      return equal(a, b, run);
    case '!=':
      return !equal(a, b, run);
    case '<':
      return order(a, b, run) < 0;
    case '<=':
      return order(a, b, run) <= 0;
    case '>':
      return order(a, b, run) > 0;
    case '>=':
      return order(a, b, run) >= 0;
    case 'in':
      return contains(b, a, run);
    case 'not in':
      return !contains(b, a, run);
    case 'is':
      return a === b;
    case 'is not':
      return a !== b;
  }
}

/** Python's index rules: negative counts from the end; out of range is an error. */
function position(index: Value, length: number, context: string): number {
  const i = asNumber(index, context);
  if (!Number.isInteger(i)) fail(`${context}: indices must be integers`);
  const resolved = i < 0 ? length + i : i;
  if (resolved < 0 || resolved >= length) fail(`${context}: index ${i} out of range`);
  return resolved;
}

function sliceBound(bound: Value | undefined, length: number, fallback: number): number {
  if (bound === undefined || bound === null) return fallback;
  const i = Math.trunc(asNumber(bound, 'slice'));
  return Math.min(Math.max(i < 0 ? length + i : i, 0), length);
}

function arithmetic(operator: string, a: Value, b: Value, run: Run): Value {
  if (operator === '+') {
    if (typeof a === 'string' && typeof b === 'string') return run.text(a + b);
    if (Array.isArray(a) && Array.isArray(b)) return run.list([...a, ...b]);
  }
  if (operator === '*') {
    const [sequence, times] = typeof a === 'string' || Array.isArray(a) ? [a, b] : [b, a];
    if (typeof sequence === 'string' || Array.isArray(sequence)) {
      const count = Math.max(0, asNumber(times, 'repetition'));
      if (!Number.isInteger(count)) fail("can't multiply sequence by non-int");
      run.reserve(sequence.length * count, typeof sequence === 'string' ? 'string' : 'list');
      return typeof sequence === 'string'
        ? sequence.repeat(count)
        : Array.from({ length: count }, () => sequence).flat();
    }
  }
  const x = asNumber(a, `operator ${operator}`);
  const y = asNumber(b, `operator ${operator}`);
  const divides = operator === '/' || operator === '//' || operator === '%';
  if (divides && y === 0) fail('division by zero');
  switch (operator) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      return x / y;
    case '//':
      return Math.floor(x / y);
    case '%':
      return x - y * Math.floor(x / y);
    default: {
      const result = x ** y;
      if (!Number.isFinite(result) && Number.isFinite(x) && Number.isFinite(y))
        fail('numerical result out of range');
      return result;
    }
  }
}

function builtin(name: string, invoke: (args: Value[], run: Run) => Value): [string, Callable] {
  return [name, new Callable(name, invoke)];
}

function arity(name: string, args: Value[], min: number, max = min): void {
  if (args.length < min || args.length > max)
    fail(`${name}() takes ${min === max ? min : `${min} to ${max}`} arguments (${args.length} given)`);
}

function toInt(value: Value): number {
  if (typeof value === 'string') {
    const text = value.trim().replaceAll('_', '');
    if (!/^[+-]?\d+$/.test(text)) fail(`invalid literal for int(): ${JSON.stringify(value)}`);
    return Number(text);
  }
  const n = asNumber(value, 'int()');
  if (!Number.isFinite(n)) fail('cannot convert infinity or NaN to int');
  return Math.trunc(n);
}

function toFloat(value: Value): number {
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    const special: Record<string, number> = {
      inf: Infinity,
      '+inf': Infinity,
      '-inf': -Infinity,
      nan: Number.NaN,
      infinity: Infinity,
      '-infinity': -Infinity,
    };
    if (text in special) return special[text]!;
    if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(text))
      fail(`could not convert string to float: ${JSON.stringify(value)}`);
    return Number(text);
  }
  return asNumber(value, 'float()');
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number, digits: number): number {
  const scale = 10 ** digits;
  const scaled = x * scale;
  const floor = Math.floor(scaled);
  const difference = scaled - floor;
  const rounded = difference > 0.5 || (difference === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
  return rounded / scale;
}

function extreme(name: string, sign: 1 | -1) {
  return builtin(name, (args, run) => {
    const items = args.length === 1 ? asIterable(args[0]!, `${name}()`) : args;
    if (items.length === 0) fail(`${name}() arg is an empty sequence`);
    return items.reduce((best, item) => (order(item, best, run) * sign > 0 ? item : best));
  });
}

const BUILTINS = new Map<string, Callable>([
  builtin('str', (args, run) => {
    arity('str', args, 0, 1);
    if (args.length === 0) return '';
    if (typeof args[0] === 'string') return args[0];
    run.reserve(printedLength(args[0]!, run), 'string');
    return run.text(toText(args[0]!));
  }),
  builtin('int', (args) => {
    arity('int', args, 0, 1);
    return args.length === 0 ? 0 : toInt(args[0]!);
  }),
  builtin('float', (args) => {
    arity('float', args, 0, 1);
    return args.length === 0 ? 0 : toFloat(args[0]!);
  }),
  builtin('bool', (args) => {
    arity('bool', args, 0, 1);
    return args.length === 1 && truthy(args[0]!);
  }),
  builtin('len', (args) => {
    arity('len', args, 1);
    return asIterable(args[0]!, 'len()').length;
  }),
  builtin('list', (args, run) => {
    arity('list', args, 0, 1);
    return args.length === 0 ? [] : run.list([...asIterable(args[0]!, 'list()')]);
  }),
  builtin('abs', (args) => {
    arity('abs', args, 1);
    return Math.abs(asNumber(args[0]!, 'abs()'));
  }),
  builtin('round', (args) => {
    arity('round', args, 1, 2);
    return roundHalfEven(asNumber(args[0]!, 'round()'), args[1] === undefined ? 0 : toInt(args[1]));
  }),
  builtin('sum', (args) => {
    arity('sum', args, 1, 2);
    return asIterable(args[0]!, 'sum()').reduce<number>(
      (total, x) => total + asNumber(x, 'sum()'),
      args[1] === undefined ? 0 : asNumber(args[1], 'sum()'),
    );
  }),
  builtin('any', (args) => {
    arity('any', args, 1);
    return asIterable(args[0]!, 'any()').some(truthy);
  }),
  builtin('all', (args) => {
    arity('all', args, 1);
    return asIterable(args[0]!, 'all()').every(truthy);
  }),
  builtin('sorted', (args, run) => {
    arity('sorted', args, 1);
    return [...asIterable(args[0]!, 'sorted()')].sort((a, b) => order(a, b, run));
  }),
  extreme('min', -1),
  extreme('max', 1),
  builtin('filter', (args, run) => {
    arity('filter', args, 2);
    const items = asIterable(args[1]!, 'filter()');
    if (args[0] === null) return items.filter(truthy);
    const predicate = asCallable(args[0]!, 'filter()');
    return items.filter((item) => truthy(run.call(predicate, [item])));
  }),
  builtin('map', (args, run) => {
    arity('map', args, 2);
    const mapper = asCallable(args[0]!, 'map()');
    return asIterable(args[1]!, 'map()').map((item) => run.call(mapper, [item]));
  }),
]);

function pythonSplit(text: string, separator: Value | undefined, maxSplit: number): string[] {
  if (separator === undefined || separator === null) {
    // Whitespace splitting drops empty words; with a limit the remainder keeps its inner spacing.
    const words: string[] = [];
    let rest = text.trimStart();
    while (rest !== '') {
      const match = /\s+/.exec(rest);
      if (!match || (maxSplit >= 0 && words.length === maxSplit)) {
        words.push(rest);
        break;
      }
      words.push(rest.slice(0, match.index));
      rest = rest.slice(match.index + match[0].length);
    }
    return words;
  }
  const sep = asString(separator, 'split()');
  if (sep === '') fail('empty separator');
  const parts = text.split(sep);
  return maxSplit < 0 || parts.length <= maxSplit + 1
    ? parts
    : [...parts.slice(0, maxSplit), parts.slice(maxSplit).join(sep)];
}

function stripper(name: string, text: string, trimStart: boolean, trimEnd: boolean) {
  return new Callable(name, (args) => {
    arity(name, args, 0, 1);
    const chars = args[0] === undefined || args[0] === null ? undefined : asString(args[0], `${name}()`);
    const strip = (char: string) => (chars === undefined ? /\s/.test(char) : chars.includes(char));
    let start = 0;
    let end = text.length;
    while (trimStart && start < end && strip(text[start]!)) start++;
    while (trimEnd && end > start && strip(text[end - 1]!)) end--;
    return text.slice(start, end);
  });
}

function stringMethod(text: string, name: string): Callable | undefined {
  const method = (invoke: (args: Value[], run: Run) => Value) => new Callable(name, invoke);
  switch (name) {
    case 'split':
      return method((args, run) => {
        arity('split', args, 0, 2);
        return run.list(pythonSplit(text, args[0], args[1] === undefined ? -1 : toInt(args[1])));
      });
    case 'replace':
      return method((args, run) => {
        arity('replace', args, 2);
        const old = asString(args[0]!, 'replace()');
        const replacement = asString(args[1]!, 'replace()');
        const occurrences = old === '' ? text.length + 1 : text.split(old).length - 1;
        run.reserve(text.length + occurrences * (replacement.length - old.length), 'string');
        return text.replaceAll(old, replacement);
      });
    case 'join':
      return method((args, run) => {
        arity('join', args, 1);
        const parts = asIterable(args[0]!, 'join()').map((part) => asString(part, 'join()'));
        run.reserve(
          parts.reduce((total, part) => total + part.length + text.length, 0),
          'string',
        );
        return parts.join(text);
      });
    case 'strip':
      return stripper(name, text, true, true);
    case 'lstrip':
      return stripper(name, text, true, false);
    case 'rstrip':
      return stripper(name, text, false, true);
    case 'lower':
      return method(() => text.toLowerCase());
    case 'upper':
      return method(() => text.toUpperCase());
    case 'startswith':
    case 'endswith':
      return method((args) => {
        arity(name, args, 1);
        const candidates = Array.isArray(args[0]) ? args[0] : [args[0]!];
        return candidates.some((c) =>
          name === 'startswith' ? text.startsWith(asString(c, name)) : text.endsWith(asString(c, name)),
        );
      });
    case 'find':
      return method((args) => {
        arity('find', args, 1);
        return text.indexOf(asString(args[0]!, 'find()'));
      });
    default:
      return undefined;
  }
}

function dictMethod(dict: Dict, name: string): Callable | undefined {
  switch (name) {
    case 'get':
      return new Callable(name, (args) => {
        arity('get', args, 1, 2);
        const key = args[0]!;
        return typeof key === 'string' && Object.hasOwn(dict, key) ? dict[key]! : (args[1] ?? null);
      });
    case 'keys':
      return new Callable(name, () => Object.keys(dict));
    case 'values':
      return new Callable(name, () => Object.values(dict));
    case 'items':
      return new Callable(name, () => Object.entries(dict));
    default:
      return undefined;
  }
}

function listMethod(list: Value[], name: string): Callable | undefined {
  switch (name) {
    case 'index':
      return new Callable(name, (args, run) => {
        arity('index', args, 1);
        const found = list.findIndex((x) => equal(x, args[0]!, run));
        return found >= 0 ? found : fail('value is not in list');
      });
    case 'count':
      return new Callable(name, (args, run) => {
        arity('count', args, 1);
        return list.filter((x) => equal(x, args[0]!, run)).length;
      });
    default:
      return undefined;
  }
}

/**
 * Attribute access. On a dict, a key that is not one of its methods reads as the key's value, or
 * None when absent: Ceilometer's transformer scales write `resource_metadata.cpu_number` and rely
 * on a missing attribute being falsy. Only own data is ever reached, never a JS prototype.
 */
function attribute(target: Value, name: string): Value {
  if (typeof target === 'string')
    return stringMethod(target, name) ?? fail(`'str' object has no attribute '${name}'`);
  if (Array.isArray(target))
    return listMethod(target, name) ?? fail(`'list' object has no attribute '${name}'`);
  if (isDict(target)) return dictMethod(target, name) ?? (Object.hasOwn(target, name) ? target[name]! : null);
  return fail(`'${typeName(target)}' object has no attribute '${name}'`);
}

function subscript(target: Value, index: Value): Value {
  if (Array.isArray(target)) return target[position(index, target.length, 'list index')]!;
  if (typeof target === 'string') return [...target][position(index, [...target].length, 'string index')]!;
  if (isDict(target)) {
    if (typeof index === 'string' && Object.hasOwn(target, index)) return target[index]!;
    return fail(
      `KeyError: ${typeof index === 'string' ? JSON.stringify(index.slice(0, 100)) : typeName(index)}`,
    );
  }
  return fail(`'${typeName(target)}' object is not subscriptable`);
}

type Scope = ReadonlyMap<string, Value>;

function evaluateNode(
  node: Node,
  scope: Scope,
  variables: Readonly<Record<string, unknown>>,
  run: Run,
): Value {
  run.step();
  const evaluate = (inner: Node, innerScope: Scope = scope) =>
    evaluateNode(inner, innerScope, variables, run);
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'name': {
      if (scope.has(node.name)) return scope.get(node.name)!;
      if (Object.hasOwn(variables, node.name)) return checkedInput(variables[node.name], node.name);
      return BUILTINS.get(node.name) ?? fail(`name '${node.name}' is not defined`);
    }
    case 'list':
      return run.list(node.items.map((item) => evaluate(item)));
    case 'dict': {
      const dict: Dict = Object.create(null);
      for (const [keyNode, valueNode] of node.entries) {
        const key = evaluate(keyNode);
        if (typeof key !== 'string') fail('dict keys must be str');
        dict[key] = evaluate(valueNode);
      }
      return dict;
    }
    case 'attribute':
      return attribute(evaluate(node.target), node.name);
    case 'subscript':
      return subscript(evaluate(node.target), evaluate(node.index));
    case 'slice': {
      const target = evaluate(node.target);
      const start = node.start && evaluate(node.start);
      const end = node.end && evaluate(node.end);
      if (typeof target === 'string') {
        const chars = [...target];
        return chars
          .slice(sliceBound(start, chars.length, 0), sliceBound(end, chars.length, chars.length))
          .join('');
      }
      if (Array.isArray(target))
        return target.slice(
          sliceBound(start, target.length, 0),
          sliceBound(end, target.length, target.length),
        );
      return fail(`'${typeName(target)}' object is not subscriptable`);
    }
    case 'call': {
      const callee = asCallable(evaluate(node.callee), 'call');
      return run.call(
        callee,
        node.args.map((arg) => evaluate(arg)),
      );
    }
    case 'unary': {
      const operand = evaluate(node.operand);
      if (node.operator === 'not') return !truthy(operand);
      const n = asNumber(operand, `unary ${node.operator}`);
      return node.operator === '-' ? -n : n;
    }
    case 'binary':
      return arithmetic(node.operator, evaluate(node.left), evaluate(node.right), run);
    case 'compare': {
      let left = evaluate(node.first);
      for (const [operator, rightNode] of node.rest) {
        const right = evaluate(rightNode);
        if (!compare(operator, left, right, run)) return false;
        left = right;
      }
      return true;
    }
    case 'logical': {
      const left = evaluate(node.left);
      if (node.operator === 'and' ? !truthy(left) : truthy(left)) return left;
      return evaluate(node.right);
    }
    case 'conditional':
      return truthy(evaluate(node.test)) ? evaluate(node.whenTrue) : evaluate(node.whenFalse);
    case 'lambda':
      return new Callable('<lambda>', (args) => {
        if (args.length !== node.params.length)
          fail(`<lambda>() takes ${node.params.length} arguments (${args.length} given)`);
        const inner = new Map(scope);
        node.params.forEach((param, i) => inner.set(param, args[i]!));
        return evaluate(node.body, inner);
      });
  }
}

/** Evaluate a parsed tree with `variables` in scope; callables cannot leave the language. */
export function interpret(
  tree: Node,
  variables: Readonly<Record<string, unknown>>,
  limits: EvaluationLimits,
): unknown {
  const result = evaluateNode(tree, new Map(), variables, new Run(limits));
  if (result instanceof Callable) return fail('the expression gives a function, not a value');
  return result;
}
