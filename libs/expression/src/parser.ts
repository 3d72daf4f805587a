import { expressionErrors } from './errors.ts';

/**
 * A small Python-like expression language: the subset Ceilometer's dynamic pollsters, SNMP
 * definitions and transformer scales write (`value.split('$')[0]`, `lambda x: int(x) / 8`,
 * `filter(lambda v: v.get('rel') == 'next', value)`, `100.0 / (10**9 * (cpu_number or 1))`).
 * Parsed into a tree and interpreted; nothing is ever handed to `eval` or `Function`.
 */
export type Node =
  | { kind: 'literal'; value: null | boolean | number | string }
  | { kind: 'name'; name: string }
  | { kind: 'list'; items: Node[] }
  | { kind: 'dict'; entries: Array<[Node, Node]> }
  | { kind: 'attribute'; target: Node; name: string }
  | { kind: 'subscript'; target: Node; index: Node }
  | { kind: 'slice'; target: Node; start: Node | undefined; end: Node | undefined }
  | { kind: 'call'; callee: Node; args: Node[] }
  | { kind: 'unary'; operator: '-' | '+' | 'not'; operand: Node }
  | { kind: 'binary'; operator: BinaryOperator; left: Node; right: Node }
  | { kind: 'compare'; first: Node; rest: Array<[CompareOperator, Node]> }
  | { kind: 'logical'; operator: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'conditional'; test: Node; whenTrue: Node; whenFalse: Node }
  | { kind: 'lambda'; params: string[]; body: Node };

export type BinaryOperator = '+' | '-' | '*' | '/' | '//' | '%' | '**';
export type CompareOperator = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in' | 'is' | 'is not';

export interface ParseLimits {
  /** Longest accepted source text. */
  maxSourceLength: number;
  /** Deepest accepted nesting, which bounds the recursion of parser and interpreter alike. */
  maxDepth: number;
}

type Token =
  | { type: 'number'; value: number; at: number }
  | { type: 'string'; value: string; at: number }
  | { type: 'name'; value: string; at: number }
  | { type: 'op'; value: string; at: number }
  | { type: 'end'; at: number };

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'if', 'else', 'lambda', 'True', 'False', 'None']);
const OPERATORS = ['**', '//', '==', '!=', '<=', '>=', '+', '-', '*', '/', '%', '<', '>'];
const PUNCTUATION = '()[]{},:.';
const STRING_ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
  '\\': '\\',
  "'": "'",
  '"': '"',
};

function syntaxError(source: string, at: number, problem: string): Error {
  return expressionErrors('EXPRESSION_SYNTAX', `${problem} at column ${at + 1} of ${source}`);
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source[i]!;
    if (/\s/.test(char)) {
      i++;
    } else if (/[0-9]/.test(char) || (char === '.' && /[0-9]/.test(source[i + 1] ?? ''))) {
      const match = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(source.slice(i))!;
      tokens.push({ type: 'number', value: Number(match[0]), at: i });
      i += match[0].length;
    } else if (/[A-Za-z_]/.test(char)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))![0];
      tokens.push({ type: KEYWORDS.has(word) ? 'op' : 'name', value: word, at: i });
      i += word.length;
    } else if (char === "'" || char === '"') {
      const start = i;
      let text = '';
      i++;
      while (source[i] !== char) {
        if (i >= source.length) throw syntaxError(source, start, 'unterminated string');
        if (source[i] === '\\') {
          const escaped = source[i + 1] ?? '';
          text += STRING_ESCAPES[escaped] ?? `\\${escaped}`;
          i += 2;
        } else {
          text += source[i];
          i++;
        }
      }
      i++;
      tokens.push({ type: 'string', value: text, at: start });
    } else {
      const operator = OPERATORS.find((op) => source.startsWith(op, i));
      if (operator) {
        tokens.push({ type: 'op', value: operator, at: i });
        i += operator.length;
      } else if (PUNCTUATION.includes(char)) {
        tokens.push({ type: 'op', value: char, at: i });
        i++;
      } else {
        throw syntaxError(source, i, `unexpected character ${JSON.stringify(char)}`);
      }
    }
  }
  tokens.push({ type: 'end', at: source.length });
  return tokens;
}

/** Parse `source` into a tree; throws EXPRESSION_SYNTAX with the column at fault. */
export function parse(source: string, limits: ParseLimits): Node {
  if (source.length > limits.maxSourceLength) {
    throw expressionErrors(
      'EXPRESSION_LIMIT',
      `expression is ${source.length} characters, limit ${limits.maxSourceLength}`,
    );
  }
  const tokens = tokenize(source);
  let position = 0;
  let depth = 0;

  const peek = (): Token => tokens[position]!;
  const isOp = (value: string, token = peek()): boolean => token.type === 'op' && token.value === value;
  const next = (): Token => tokens[position++]!;
  const expect = (value: string): void => {
    if (!isOp(value)) throw syntaxError(source, peek().at, `expected '${value}'`);
    position++;
  };
  const nested = <T>(parseInner: () => T): T => {
    depth++;
    if (depth > limits.maxDepth) {
      throw expressionErrors('EXPRESSION_LIMIT', `nesting deeper than ${limits.maxDepth}`);
    }
    try {
      return parseInner();
    } finally {
      depth--;
    }
  };

  const expression = (): Node =>
    nested(() => {
      if (isOp('lambda')) {
        next();
        const params: string[] = [];
        while (!isOp(':')) {
          const param = next();
          if (param.type !== 'name') throw syntaxError(source, param.at, 'expected a parameter name');
          params.push(param.value);
          if (!isOp(':')) expect(',');
        }
        next();
        return { kind: 'lambda', params, body: expression() };
      }
      const value = or();
      if (!isOp('if')) return value;
      next();
      const test = or();
      expect('else');
      return { kind: 'conditional', test, whenTrue: value, whenFalse: expression() };
    });

  const logical = (operator: 'and' | 'or', operand: () => Node) => (): Node => {
    let left = operand();
    while (isOp(operator)) {
      next();
      left = { kind: 'logical', operator, left, right: operand() };
    }
    return left;
  };
  const not = (): Node => {
    if (!isOp('not')) return comparison();
    next();
    return { kind: 'unary', operator: 'not', operand: nested(not) };
  };
  const and = logical('and', not);
  const or = logical('or', and);

  const comparisonOperator = (): CompareOperator | undefined => {
    const token = peek();
    if (token.type !== 'op') return undefined;
    if (isOp('not') && isOp('in', tokens[position + 1])) {
      position += 2;
      return 'not in';
    }
    if (token.value === 'is') {
      next();
      if (isOp('not')) {
        next();
        return 'is not';
      }
      return 'is';
    }
    if (['==', '!=', '<', '<=', '>', '>=', 'in'].includes(token.value)) {
      next();
      return token.value as CompareOperator;
    }
    return undefined;
  };
  const comparison = (): Node => {
    const first = sum();
    const rest: Array<[CompareOperator, Node]> = [];
    for (let operator = comparisonOperator(); operator; operator = comparisonOperator()) {
      rest.push([operator, sum()]);
    }
    return rest.length === 0 ? first : { kind: 'compare', first, rest };
  };

  const binary = (operators: BinaryOperator[], operand: () => Node) => (): Node => {
    let left = operand();
    for (
      let operator = operators.find((op) => isOp(op));
      operator;
      operator = operators.find((op) => isOp(op))
    ) {
      next();
      left = { kind: 'binary', operator, left, right: operand() };
    }
    return left;
  };
  const unary = (): Node => {
    const sign = isOp('-') ? '-' : isOp('+') ? '+' : undefined;
    if (!sign) return power();
    next();
    return { kind: 'unary', operator: sign, operand: nested(unary) };
  };
  const term = binary(['*', '/', '//', '%'], unary);
  const sum = binary(['+', '-'], term);
  const power = (): Node => {
    const base = postfix();
    if (!isOp('**')) return base;
    next();
    return { kind: 'binary', operator: '**', left: base, right: nested(unary) };
  };

  const postfix = (): Node => {
    let node = atom();
    for (;;) {
      if (isOp('.')) {
        next();
        const name = next();
        if (name.type !== 'name') throw syntaxError(source, name.at, 'expected an attribute name');
        if (name.value.startsWith('_')) throw syntaxError(source, name.at, `private attribute ${name.value}`);
        node = { kind: 'attribute', target: node, name: name.value };
      } else if (isOp('[')) {
        next();
        node = subscript(node);
      } else if (isOp('(')) {
        next();
        node = { kind: 'call', callee: node, args: sequence(')') };
      } else {
        return node;
      }
    }
  };
  const subscript = (target: Node): Node => {
    const start = isOp(':') ? undefined : expression();
    if (!isOp(':')) {
      expect(']');
      if (!start) throw syntaxError(source, peek().at, 'empty subscript');
      return { kind: 'subscript', target, index: start };
    }
    next();
    const end = isOp(']') ? undefined : expression();
    expect(']');
    return { kind: 'slice', target, start, end };
  };
  /** Comma-separated expressions up to `close`, a trailing comma allowed. */
  const sequence = (close: string): Node[] => {
    const items: Node[] = [];
    while (!isOp(close)) {
      items.push(expression());
      if (!isOp(close)) expect(',');
    }
    next();
    return items;
  };

  const atom = (): Node =>
    nested(() => {
      const token = next();
      if (token.type === 'number') return { kind: 'literal', value: token.value };
      if (token.type === 'string') {
        let text = token.value;
        // Adjacent literals concatenate, as in Python.
        for (let more = peek(); more.type === 'string'; more = peek()) {
          text += more.value;
          next();
        }
        return { kind: 'literal', value: text };
      }
      if (token.type === 'name') return { kind: 'name', name: token.value };
      if (token.type === 'op') {
        if (token.value === 'True') return { kind: 'literal', value: true };
        if (token.value === 'False') return { kind: 'literal', value: false };
        if (token.value === 'None') return { kind: 'literal', value: null };
        if (token.value === '[') return { kind: 'list', items: sequence(']') };
        if (token.value === '(') {
          if (isOp(')')) {
            next();
            return { kind: 'list', items: [] };
          }
          const first = expression();
          if (isOp(')')) {
            next();
            return first;
          }
          // A tuple: read as a list, as Ceilometer's own JSON round trips do.
          expect(',');
          return { kind: 'list', items: [first, ...sequence(')')] };
        }
        if (token.value === '{') {
          const entries: Array<[Node, Node]> = [];
          while (!isOp('}')) {
            const key = expression();
            expect(':');
            entries.push([key, expression()]);
            if (!isOp('}')) expect(',');
          }
          next();
          return { kind: 'dict', entries };
        }
      }
      throw syntaxError(source, token.at, token.type === 'end' ? 'unexpected end' : 'unexpected token');
    });

  const tree = expression();
  if (peek().type !== 'end') throw syntaxError(source, peek().at, 'unexpected token');
  return tree;
}
