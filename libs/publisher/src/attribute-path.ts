import { publisherErrors } from './errors.ts';

/**
 * The subset of jsonpath-rw that `gnocchi_resources.yaml` attributes are written in:
 * `resource_metadata.(instance_flavor_id|(flavor.id)|flavor_id)`. Fields (bare or quoted), `.`
 * children, `|` unions (binding tighter than `.`, as in jsonpath-rw's grammar), parentheses, and a
 * leading `$`. Ceilometer keeps the first match that is not None.
 */
export interface AttributePath {
  readonly source: string;
  /** The first non-null value the path finds in `document`, or undefined. */
  read(document: unknown): unknown;
}

type Step =
  | { kind: 'root' }
  | { kind: 'field'; name: string }
  | { kind: 'child'; parent: Step; child: Step }
  | { kind: 'union'; left: Step; right: Step };

function find(step: Step, node: unknown): unknown[] {
  switch (step.kind) {
    case 'root':
      return [node];
    case 'field':
      return typeof node === 'object' &&
        node !== null &&
        !Array.isArray(node) &&
        Object.hasOwn(node, step.name)
        ? [(node as Record<string, unknown>)[step.name]]
        : [];
    case 'child':
      return find(step.parent, node).flatMap((match) => find(step.child, match));
    case 'union':
      return [...find(step.left, node), ...find(step.right, node)];
  }
}

const TOKEN = /\s*(?:([A-Za-z_@][\w@-]*)|'([^']*)'|"([^"]*)"|(\$)|([.|()]))/y;

export function compileAttributePath(source: string): AttributePath {
  const tokens: string[][] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.trimEnd().length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(source);
    if (!match) throw unsupported(source, `unexpected text at column ${at + 1}`);
    const [, name, single, double, root, punctuation] = match;
    if (punctuation) tokens.push(['op', punctuation]);
    else if (root) tokens.push(['root']);
    else tokens.push(['field', (name ?? single ?? double)!]);
  }
  let position = 0;
  const peek = () => tokens[position];
  const atom = (): Step => {
    const token = tokens[position++];
    if (!token) throw unsupported(source, 'unexpected end');
    if (token[0] === 'field') return { kind: 'field', name: token[1]! };
    if (token[0] === 'root') return { kind: 'root' };
    if (token[1] === '(') {
      const inner = path();
      if (tokens[position++]?.[1] !== ')') throw unsupported(source, 'missing )');
      return inner;
    }
    throw unsupported(source, `unexpected ${token[1]}`);
  };
  const union = (): Step => {
    let left = atom();
    while (peek()?.[1] === '|') {
      position++;
      left = { kind: 'union', left, right: atom() };
    }
    return left;
  };
  const path = (): Step => {
    let parent = union();
    while (peek()?.[1] === '.') {
      position++;
      parent = { kind: 'child', parent, child: union() };
    }
    return parent;
  };
  const tree = path();
  if (position !== tokens.length) throw unsupported(source, `unexpected ${tokens[position]![1]}`);
  return {
    source,
    read: (document) => find(tree, document).find((value) => value !== null && value !== undefined),
  };
}

function unsupported(source: string, problem: string): Error {
  return publisherErrors(
    'PUBLISHER_DEFINITIONS_INVALID',
    `attribute path ${JSON.stringify(source)}: ${problem}`,
  );
}
