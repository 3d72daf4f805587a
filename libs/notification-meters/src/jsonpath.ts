import { notificationMeterErrors } from './errors.ts';

/**
 * The JSONPath dialect of Ceilometer's meter definitions (jsonpath-rw with jsonpath-rw-ext's
 * extensions), evaluated over plain JSON values:
 * - `$` root, `@` current, `a.b` children, `a..b` descendants, `*` every field, `[n]` index,
 *   `[*]` / `[a:b]` slices (a non-list counts as a one-element list), `['quoted']` fields;
 * - `a|b` union, binding tighter than `.` as in jsonpath-rw's grammar: `$.a.b|c.d` is `$.a.(b|c).d`;
 * - filters on lists `[?key=value]`, `[?(@.name='x')]`, `&`-joined, with `= == != < <= > >=`
 *   and `~` (regex matched at the start); against an integer literal the value is read as Python's
 *   `int()` does, and values that cannot be are skipped;
 * - arithmetic `+ - *` binding loosest, all three alike and grouped from the right as
 *   jsonpath-rw-ext's parser does (`$.a * 2 + 1` is `$.a * 3`); `/` does not parse there either. A
 *   bare or quoted single name there is a string literal (`$.payload.host + "_" + $.payload.nodename`);
 *   both sides paths: pairwise, when they find as many values;
 * - named operators `` `len` ``, `` `sorted` ``, `` `split(c, segment, maxsplit)` ``,
 *   `` `sub(/regex/, replacement)` ``, `` `this` ``.
 * Checked against jsonpath-rw-ext 1.2.2 over the expressions of the tests.
 */
export interface JsonPath {
  readonly source: string;
  /** Every value the path finds in `document`, nulls included, in jsonpath-rw's order. */
  find(document: unknown): unknown[];
}

type Literal = string | number;
type Node =
  | { kind: 'root' }
  | { kind: 'this' }
  | { kind: 'fields'; name: string }
  | { kind: 'any' }
  | { kind: 'index'; at: number }
  | { kind: 'slice'; start: number | undefined; end: number | undefined }
  | { kind: 'filter'; tests: FilterTest[] }
  | { kind: 'child'; left: Node; right: Node }
  | { kind: 'descendants'; left: Node; right: Node }
  | { kind: 'union'; left: Node; right: Node }
  | { kind: 'operator'; apply: (value: unknown) => unknown[] }
  | { kind: 'arithmetic'; op: ArithmeticOp; left: Node | Literal; right: Node | Literal }
  | { kind: 'number'; value: number };
type ArithmeticOp = '+' | '-' | '*';
type Comparison = '=' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '~';
interface FilterTest {
  target: Node;
  comparison?: { op: Comparison; value: Literal | boolean; integer: boolean };
}

/** Descendant searches stop here: documents are bounded by the wire, this bounds the work. */
const MAX_DESCENT_DEPTH = 64;

const isDict = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function find(node: Node, value: unknown, root: unknown): unknown[] {
  switch (node.kind) {
    case 'root':
      return [root];
    case 'this':
      return [value];
    case 'fields':
      return isDict(value) && Object.hasOwn(value, node.name) ? [value[node.name]] : [];
    case 'any':
      return isDict(value) ? Object.values(value) : [];
    case 'index': {
      if (!Array.isArray(value)) return [];
      const at = node.at < 0 ? value.length + node.at : node.at;
      return at >= 0 && at < value.length ? [value[at]] : [];
    }
    case 'slice':
      return asList(value).slice(node.start, node.end);
    case 'filter':
      return Array.isArray(value)
        ? value.filter((item) => node.tests.every((test) => passes(test, item, root)))
        : [];
    case 'child':
      return find(node.left, value, root).flatMap((match) => find(node.right, match, root));
    case 'descendants':
      return find(node.left, value, root).flatMap((match) =>
        selfAndDescendants(match, 0).flatMap((inner) => find(node.right, inner, root)),
      );
    case 'union':
      return [...find(node.left, value, root), ...find(node.right, value, root)];
    case 'operator':
      return node.apply(value);
    case 'arithmetic':
      return arithmetic(node, value, root);
    case 'number':
      return [node.value];
  }
}

/** jsonpath-rw's slice "hack": a dict or a scalar is sliced as a one-element list. */
function asList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return value === null || value === undefined || typeof value === 'boolean' ? [] : [value];
}

function selfAndDescendants(value: unknown, depth: number): unknown[] {
  if (depth > MAX_DESCENT_DEPTH) return [value];
  const children = isDict(value) ? Object.values(value) : Array.isArray(value) ? value : [];
  return [value, ...children.flatMap((child) => selfAndDescendants(child, depth + 1))];
}

function passes(test: FilterTest, item: unknown, root: unknown): boolean {
  const found = find(test.target, item, root);
  if (!test.comparison) return found.length > 0;
  const { op, value, integer } = test.comparison;
  return found.some((candidate) => {
    if (candidate === null || candidate === undefined) return false;
    const left = integer || typeof value === 'boolean' ? pythonInt(candidate) : candidate;
    return left !== undefined && compare(left, op, typeof value === 'boolean' ? Number(value) : value);
  });
}

/** Python's `int(value)` on a JSON value; undefined where it raises. */
function pythonInt(value: unknown): number | undefined {
  if (typeof value === 'boolean') return Number(value);
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value === 'string' && /^\s*[+-]?\d+(?:_\d+)*\s*$/.test(value))
    return Number(value.replaceAll('_', ''));
  return undefined;
}

function compare(left: unknown, op: Comparison, right: Literal): boolean {
  if (op === '=' || op === '==') return left === right;
  if (op === '!=') return left !== right;
  if (op === '~') return typeof left === 'string' && typeof right === 'string' && pythonMatch(right, left);
  const comparable =
    (typeof left === 'number' && typeof right === 'number') ||
    (typeof left === 'string' && typeof right === 'string');
  if (!comparable) return false;
  const [a, b] = [left as number | string, right as number | string];
  return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
}

/** Python's `re.match`: anchored at the start; a pattern JavaScript cannot compile matches nothing. */
function pythonMatch(pattern: string, text: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})`).test(text);
  } catch {
    return false;
  }
}

/** Python's operators on JSON values; a TypeError in Python gives no match, as in jsonpath-rw-ext. */
function operate(op: ArithmeticOp, left: unknown, right: unknown): unknown {
  const number = (v: unknown) => (typeof v === 'boolean' ? Number(v) : v);
  const [a, b] = [number(left), number(right)];
  if (op === '+' && typeof a === 'string' && typeof b === 'string') return a + b;
  if (op === '+' && Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  if (typeof a !== 'number' || typeof b !== 'number') return undefined;
  return op === '+' ? a + b : op === '-' ? a - b : a * b;
}

function arithmetic(node: Extract<Node, { kind: 'arithmetic' }>, value: unknown, root: unknown): unknown[] {
  const side = (operand: Node | Literal) =>
    typeof operand === 'object' ? find(operand, value, root) : undefined;
  const left = side(node.left);
  const right = side(node.right);
  const pairs: [unknown, unknown][] =
    left && right
      ? left.length > 0 && left.length === right.length
        ? left.map((l, i) => [l, right[i]])
        : []
      : left
        ? left.map((l) => [l, node.right])
        : right
          ? right.map((r) => [node.left, r])
          : [[node.left, node.right]];
  const results: unknown[] = [];
  for (const [l, r] of pairs) {
    const result = operate(node.op, l, r);
    if (result === undefined) return [];
    results.push(result);
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Parsing

type Token =
  | { type: 'name'; value: string; quoted: boolean }
  | { type: 'number'; value: number; integer: boolean }
  | { type: 'operator'; value: string }
  | { type: 'punct'; value: string };

const TOKEN =
  /\s*(?:(-?\d+\.\d+|-?\d+)(?![\w@-])|([A-Za-z_][\w@-]*)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\.\.|==|!=|<=|>=|[$@.|()[\]*+\-?&=<>:,~]))/y;

function tokenize(source: string, fail: (problem: string) => never): Token[] {
  const tokens: Token[] = [];
  const end = source.trimEnd().length;
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < end) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(source);
    if (!match) fail(`unexpected text at column ${at + 1}`);
    const [, number, name, single, double, operator, punct] = match!;
    if (number !== undefined)
      tokens.push({ type: 'number', value: Number(number), integer: !number.includes('.') });
    else if (name !== undefined) tokens.push({ type: 'name', value: name, quoted: false });
    else if (single !== undefined || double !== undefined)
      tokens.push({ type: 'name', value: (single ?? double)!.replace(/\\(.)/g, '$1'), quoted: true });
    else if (operator !== undefined) tokens.push({ type: 'operator', value: operator.trim() });
    else tokens.push({ type: 'punct', value: punct! });
  }
  return tokens;
}

const COMPARISONS: readonly string[] = ['=', '==', '!=', '<', '<=', '>', '>=', '~'];

export function compileJsonPath(source: string): JsonPath {
  const fail = (problem: string): never => {
    throw notificationMeterErrors('NOTIFICATION_METERS_PATH_SYNTAX', `${JSON.stringify(source)}: ${problem}`);
  };
  const tokens = tokenize(source, fail);
  let position = 0;
  const peek = (value?: string) => {
    const token = tokens[position];
    return token && (value === undefined || (token.type === 'punct' && token.value === value))
      ? token
      : undefined;
  };
  const expect = (value: string) => {
    if (!peek(value)) fail(`expected ${value} at token ${position + 1}`);
    position++;
  };

  const operand = (): Node => path();
  const asLiteral = (node: Node): Node | Literal =>
    node.kind === 'fields' ? node.name : node.kind === 'number' ? node.value : node;
  /** `operand (op expression)?`: one level, grouped from the right, as jsonpath-rw-ext parses. */
  const expression = (): Node => {
    const left = operand();
    const token = peek();
    if (token?.type !== 'punct' || !['+', '-', '*'].includes(token.value)) return left;
    position++;
    const right = expression();
    return {
      kind: 'arithmetic',
      op: token.value as ArithmeticOp,
      left: asLiteral(left),
      right: asLiteral(right),
    };
  };
  /** Left-associative `next (op next)*`: jsonpath-rw's `..` < `.` < `|` precedence levels. */
  const chain = (next: () => Node, op: string, kind: 'descendants' | 'child' | 'union') => (): Node => {
    let left = next();
    while (peek(op)) {
      position++;
      left = { kind, left, right: next() };
    }
    return left;
  };
  const union = chain(() => postfix(), '|', 'union');
  const child = chain(union, '.', 'child');
  const path = chain(child, '..', 'descendants');
  const postfix = (): Node => {
    let node = atom();
    while (peek('[')) node = { kind: 'child', left: node, right: bracket() };
    return node;
  };
  const atom = (): Node => {
    const token = tokens[position];
    if (!token) return fail('unexpected end');
    if (token.type === 'number') {
      position++;
      return { kind: 'number', value: token.value };
    }
    if (token.type === 'name') {
      position++;
      return { kind: 'fields', name: token.value };
    }
    if (token.type === 'operator') {
      position++;
      return { kind: 'operator', apply: namedOperator(token.value, fail) };
    }
    switch (token.value) {
      case '$':
        position++;
        return { kind: 'root' };
      case '@':
        position++;
        return { kind: 'this' };
      case '*':
        position++;
        return { kind: 'any' };
      case '(': {
        position++;
        const inner = expression();
        expect(')');
        return inner;
      }
      case '[':
        return bracket();
      default:
        return fail(`unexpected ${token.value}`);
    }
  };
  const integer = (): number | undefined => {
    const token = tokens[position];
    if (token?.type !== 'number') return undefined;
    if (!Number.isInteger(token.value)) fail('an index must be an integer');
    position++;
    return token.value;
  };
  const bracket = (): Node => {
    expect('[');
    let node: Node;
    if (peek('*')) {
      position++;
      node = { kind: 'slice', start: undefined, end: undefined };
    } else if (peek('?')) {
      position++;
      node = { kind: 'filter', tests: filterTests() };
    } else if (tokens[position]?.type === 'name' && (tokens[position] as { quoted: boolean }).quoted) {
      node = { kind: 'fields', name: (tokens[position++] as { value: string }).value };
    } else {
      const start = integer();
      if (peek(':')) {
        position++;
        node = { kind: 'slice', start, end: integer() };
      } else if (start === undefined) return fail('expected an index, a slice, * or a filter');
      else node = { kind: 'index', at: start };
    }
    expect(']');
    return node;
  };
  const filterTests = (): FilterTest[] => {
    const parenthesised = !!peek('(');
    if (parenthesised) position++;
    const tests: FilterTest[] = [];
    do {
      if (tests.length > 0) position++;
      const target = child();
      const op = tokens[position];
      if (op?.type === 'punct' && COMPARISONS.includes(op.value)) {
        position++;
        const value = tokens[position++];
        if (!value || (value.type !== 'name' && value.type !== 'number'))
          return fail('expected a value to compare with');
        const literal =
          value.type === 'name' && !value.quoted && (value.value === 'true' || value.value === 'false')
            ? value.value === 'true'
            : value.value;
        const integer = value.type === 'number' && value.integer;
        tests.push({ target, comparison: { op: op.value as Comparison, value: literal, integer } });
      } else tests.push({ target });
    } while (peek('&'));
    if (parenthesised) expect(')');
    return tests;
  };

  const tree = expression();
  if (position !== tokens.length) fail(`unexpected token ${position + 1}`);
  return { source, find: (document) => find(tree, document, document) };
}

const SPLIT = /^split\((.),\s+(\d+),\s+(\d+|-1)\)$/;
const SUB = /^sub\(\/(.*)\/,\s+(.*)\)$/;

/** jsonpath-rw-ext's string and list operators; a value they cannot take gives no match. */
function namedOperator(text: string, fail: (problem: string) => never): (value: unknown) => unknown[] {
  if (text === 'this') return (value) => [value];
  if (text === 'len')
    return (value) =>
      Array.isArray(value) || typeof value === 'string'
        ? [value.length]
        : isDict(value)
          ? [Object.keys(value).length]
          : [];
  if (text === 'sorted')
    return (value) => {
      if (isDict(value)) return [Object.keys(value).sort()];
      if (!Array.isArray(value)) return [];
      if (value.every((v) => typeof v === 'number')) return [[...value].sort((a, b) => a - b)];
      return value.every((v) => typeof v === 'string') ? [[...value].sort()] : [];
    };
  const split = SPLIT.exec(text);
  if (split) {
    const [, separator, segment, maxSplit] = split;
    return (value) => {
      if (typeof value !== 'string') return [];
      const parts = pythonSplit(value, separator!, Number(maxSplit));
      const at = Number(segment);
      return at < parts.length ? [parts[at]] : [];
    };
  }
  const sub = SUB.exec(text);
  if (sub) {
    let pattern: RegExp;
    try {
      pattern = new RegExp(sub[1]!, 'g');
    } catch (cause) {
      return fail(`sub(): ${(cause as Error).message}`);
    }
    // Python's \1 group references are JavaScript's $1; a literal $ is $$.
    const replacement = sub[2]!.replace(/\$/g, '$$$$').replace(/\\(\d)/g, '$$$1');
    return (value) => (typeof value === 'string' ? [value.replace(pattern, replacement)] : []);
  }
  return fail(`unknown operator \`${text}\``);
}

/** Python's `str.split(sep, maxsplit)`: at most `maxSplit` cuts from the left (-1: every one). */
function pythonSplit(value: string, separator: string, maxSplit: number): string[] {
  const parts = value.split(separator);
  if (maxSplit < 0 || parts.length <= maxSplit + 1) return parts;
  return [...parts.slice(0, maxSplit), parts.slice(maxSplit).join(separator)];
}
