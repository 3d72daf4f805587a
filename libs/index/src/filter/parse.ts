import { COMPARISON_ALIASES, type Comparison } from '@granary/carbonara';
import { described, invalidInput } from '../errors.ts';

export type FilterScalar = string | number | boolean | null;
export type ComparisonOperator = Comparison | 'like';

/** One AST for both of Gnocchi's filter forms; attribute names are checked later, against a type. */
export type ResourceFilter =
  | { kind: 'and' | 'or'; operands: ResourceFilter[] }
  | { kind: 'not'; operand: ResourceFilter }
  | { kind: 'compare'; operator: ComparisonOperator; attribute: string; value: FilterScalar }
  | { kind: 'in'; attribute: string; values: FilterScalar[] };

/** Bounds that keep a hostile filter from costing more than a 400. */
export const FILTER_LIMITS = { maxDepth: 32, maxNodes: 1000, maxTextLength: 65_536 } as const;

// Maps: operators come from the request, so `constructor` or `__proto__` must not find anything.
const COMPARISONS = new Map<string, ComparisonOperator>(
  Object.entries({ ...COMPARISON_ALIASES, like: 'like' }),
);
const CONJUNCTIONS = new Map<string, 'and' | 'or'>([
  ['and', 'and'],
  ['∧', 'and'],
  ['or', 'or'],
  ['∨', 'or'],
]);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is FilterScalar =>
  v === null ||
  typeof v === 'boolean' ||
  (typeof v === 'number' && Number.isFinite(v)) ||
  (typeof v === 'string' && v.length <= FILTER_LIMITS.maxTextLength && !v.includes('\0'));

const tooComplex = (why: string) => described('INDEX_INVALID_FILTER', `Invalid filter: ${why}`);

/**
 * Parses a resource search filter: a string is Gnocchi's query-string form
 * (`host like "compute%" and started_at >= "2010-01-01"`), anything else the JSON form
 * (`{"and": [{"like": {"host": "compute%"}}, …]}`). Returns null for the empty filter `{}` (match
 * everything). Errors are INDEX_INVALID_FILTER with Gnocchi's descriptions.
 */
export function parseResourceFilter(input: unknown): ResourceFilter | null {
  return validateJsonFilter(typeof input === 'string' ? stringFilterToJson(input) : input);
}

function validateJsonFilter(input: unknown): ResourceFilter | null {
  if (isObject(input) && Object.keys(input).length === 0) return null;
  let nodes = 0;
  const count = () => {
    if (++nodes > FILTER_LIMITS.maxNodes) throw tooComplex(`more than ${FILTER_LIMITS.maxNodes} terms`);
  };
  const visit = (node: unknown, path: (string | number)[], depth: number): ResourceFilter => {
    if (depth > FILTER_LIMITS.maxDepth)
      throw tooComplex(`nested deeper than ${FILTER_LIMITS.maxDepth} levels`);
    count();
    if (!isObject(node)) throw invalidInput('INDEX_INVALID_FILTER', 'expected a dictionary', path);
    const keys = Object.keys(node);
    if (keys.length !== 1) {
      throw invalidInput(
        'INDEX_INVALID_FILTER',
        `length of value must be at ${keys.length ? 'most' : 'least'} 1`,
        path,
      );
    }
    const op = keys[0]!;
    const value = node[op];
    const here = [...path, op];
    const conjunction = CONJUNCTIONS.get(op);
    if (conjunction) {
      if (!Array.isArray(value)) throw invalidInput('INDEX_INVALID_FILTER', 'expected a list', here);
      if (value.length === 0)
        throw invalidInput('INDEX_INVALID_FILTER', 'length of value must be at least 1', here);
      return { kind: conjunction, operands: value.map((child, i) => visit(child, [...here, i], depth + 1)) };
    }
    if (op === 'not') {
      if (!isObject(value)) throw invalidInput('INDEX_INVALID_FILTER', 'expected a dictionary', here);
      return { kind: 'not', operand: visit(value, here, depth + 1) };
    }
    const comparison = COMPARISONS.get(op);
    if (!comparison && op !== 'in')
      throw invalidInput('INDEX_INVALID_FILTER', 'extra keys not allowed', here, false);
    if (!isObject(value)) throw invalidInput('INDEX_INVALID_FILTER', 'expected a dictionary', here);
    const entries = Object.entries(value);
    if (entries.length !== 1) {
      throw invalidInput(
        'INDEX_INVALID_FILTER',
        `length of value must be at ${entries.length ? 'most' : 'least'} 1`,
        here,
      );
    }
    const [attribute, operand] = entries[0]!;
    const at = [...here, attribute];
    const checkScalar = (v: unknown, where: (string | number)[]): FilterScalar => {
      if (!isScalar(v) || (attribute === 'id' && typeof v !== 'string')) {
        throw invalidInput('INDEX_INVALID_FILTER', 'expected str', where);
      }
      return v;
    };
    if (op === 'in') {
      if (!Array.isArray(operand)) throw invalidInput('INDEX_INVALID_FILTER', 'expected a list', at);
      if (operand.length === 0)
        throw invalidInput('INDEX_INVALID_FILTER', 'length of value must be at least 1', at);
      const values = operand.map((v, i) => {
        count();
        return checkScalar(v, [...at, i]);
      });
      return { kind: 'in', attribute, values };
    }
    if (comparison === 'like' && attribute === 'id') {
      throw invalidInput('INDEX_INVALID_FILTER', "value must not be one of ['id']", at, false);
    }
    return { kind: 'compare', operator: comparison!, attribute, value: checkScalar(operand, at) };
  };
  return visit(input, [], 1);
}

// ---- Query-string form: a tokenizer and a recursive-descent parser mirroring Gnocchi's pyparsing
// grammar (not > and/∧ > or/∨; terms: null, booleans, UUIDs, identifiers, numbers, quoted strings,
// [lists]). It produces the JSON form, which then goes through the same validation.

type Token =
  | { type: 'punct'; text: '(' | ')' | '[' | ']' | ','; pos: number }
  | { type: 'operator'; text: string; pos: number }
  | { type: 'keyword'; text: 'and' | 'or' | 'not'; pos: number }
  | { type: 'identifier'; text: string; pos: number }
  | { type: 'value'; text: string; value: FilterScalar; pos: number }
  | { type: 'end'; text: ''; pos: number };

const UUID_TEXT = /[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}/y;
const NUMBER_TEXT = /[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?/y;
const WORD_TEXT = /[A-Za-z][A-Za-z0-9_]*/y;
const SYMBOL_OPERATORS = ['>=', '<=', '!=', '>', '<', '=', '≠', '≥', '≤'];
const WORD_OPERATORS = new Set(['eq', 'ne', 'lt', 'gt', 'ge', 'le', 'in', 'like']);

function stickyMatch(re: RegExp, text: string, pos: number): string | undefined {
  re.lastIndex = pos;
  return re.exec(text)?.[0];
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < text.length) {
    const c = text[pos]!;
    if (/\s/.test(c)) {
      pos++;
      continue;
    }
    if (c === '(' || c === ')' || c === '[' || c === ']' || c === ',') {
      tokens.push({ type: 'punct', text: c, pos });
      pos++;
      continue;
    }
    if (c === '∧' || c === '∨') {
      tokens.push({ type: 'keyword', text: c === '∧' ? 'and' : 'or', pos });
      pos++;
      continue;
    }
    if (c === '"' || c === "'") {
      const close = text.indexOf(c, pos + 1);
      const body = close < 0 ? undefined : text.slice(pos + 1, close);
      if (body === undefined || body.includes('\n')) throw expected('a closing quote', text, pos);
      tokens.push({ type: 'value', text: text.slice(pos, close + 1), value: body, pos });
      pos = close + 1;
      continue;
    }
    const symbol = SYMBOL_OPERATORS.find((op) => text.startsWith(op, pos));
    if (symbol) {
      tokens.push({ type: 'operator', text: symbol, pos });
      pos += symbol.length;
      continue;
    }
    const uuid = stickyMatch(UUID_TEXT, text, pos);
    if (uuid) {
      tokens.push({ type: 'value', text: uuid, value: uuid, pos });
      pos += uuid.length;
      continue;
    }
    const number = stickyMatch(NUMBER_TEXT, text, pos);
    if (number) {
      tokens.push({ type: 'value', text: number, value: Number(number), pos });
      pos += number.length;
      continue;
    }
    const word = stickyMatch(WORD_TEXT, text, pos);
    if (!word) throw expected('a term', text, pos);
    if (/^(?:None|none|null)$/.test(word)) tokens.push({ type: 'value', text: word, value: null, pos });
    else if (/^(?:True|true|False|false)$/.test(word))
      tokens.push({ type: 'value', text: word, value: word.toLowerCase() === 'true', pos });
    else if (word === 'and' || word === 'or' || word === 'not')
      tokens.push({ type: 'keyword', text: word, pos });
    else if (WORD_OPERATORS.has(word)) tokens.push({ type: 'operator', text: word, pos });
    else tokens.push({ type: 'identifier', text: word, pos });
    pos += word.length;
  }
  tokens.push({ type: 'end', text: '', pos: text.length });
  return tokens;
}

function expected(what: string, text: string, pos: number) {
  const found = pos >= text.length ? 'end of text' : `'${[...text.slice(pos)][0]}'`;
  return described(
    'INDEX_INVALID_FILTER',
    `Invalid filter: Expected ${what}, found ${found} (at char ${pos})`,
  );
}

type JsonFilter = Record<string, unknown>;

function stringFilterToJson(text: string): JsonFilter {
  if (text.length > FILTER_LIMITS.maxTextLength)
    throw tooComplex(`longer than ${FILTER_LIMITS.maxTextLength} characters`);
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at]!;
  const fail = (what: string): never => {
    throw expected(what, text, peek().pos);
  };
  const take = (type: Token['type'], tokenText?: string): Token | undefined => {
    const token = peek();
    if (token.type !== type || (tokenText !== undefined && token.text !== tokenText)) return undefined;
    at++;
    return token;
  };
  const guardDepth = (depth: number) => {
    if (depth > FILTER_LIMITS.maxDepth)
      throw tooComplex(`nested deeper than ${FILTER_LIMITS.maxDepth} levels`);
  };

  const chain = (op: 'and' | 'or', next: (depth: number) => JsonFilter, depth: number): JsonFilter => {
    const operands = [next(depth)];
    while (take('keyword', op)) operands.push(next(depth));
    return operands.length === 1 ? operands[0]! : { [op]: operands };
  };
  const orExpr = (depth: number): JsonFilter => chain('or', andExpr, depth);
  const andExpr = (depth: number): JsonFilter => chain('and', unary, depth);
  const unary = (depth: number): JsonFilter => {
    guardDepth(depth);
    if (take('keyword', 'not')) return { not: unary(depth + 1) };
    if (take('punct', '(')) {
      const inner = orExpr(depth + 1);
      if (!take('punct', ')')) fail("')'");
      return inner;
    }
    return condition();
  };
  const term = (): FilterScalar | FilterScalar[] => {
    const token = peek();
    if (token.type === 'value') {
      at++;
      return token.value;
    }
    if (token.type === 'identifier') {
      at++;
      return token.text;
    }
    if (!take('punct', '[')) return fail('a value');
    const items: FilterScalar[] = [];
    if (!take('punct', ']')) {
      do {
        const item = term();
        if (Array.isArray(item)) fail('a value');
        items.push(item as FilterScalar);
      } while (take('punct', ','));
      if (!take('punct', ']')) fail("']'");
    }
    return items;
  };
  const condition = (): JsonFilter => {
    const attribute = take('identifier') ?? fail('an attribute name');
    const operator = take('operator') ?? fail('an operator');
    return { [operator.text]: { [attribute.text]: term() } };
  };

  const result = orExpr(1);
  if (peek().type !== 'end') fail('end of text');
  return result;
}
