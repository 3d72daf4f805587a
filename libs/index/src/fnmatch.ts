/** One element of a glob: a literal character, `?`, a `[...]` class, or `*`. */
type GlobToken =
  | { kind: 'char'; char: string }
  | { kind: 'any' }
  | { kind: 'class'; negated: boolean; ranges: [string, string][] }
  | { kind: 'star' };

/**
 * Python's `fnmatch.fnmatchcase` (POSIX: case-sensitive): `*`, `?`, `[seq]`, `[!seq]`. Matched
 * without a regular expression: a backtracking regex takes exponential time on `*a*a*a…b`, and Node
 * has one thread. The greedy matcher below is O(name × pattern) at worst. A class whose ranges are
 * all reversed (`[z-a]`) matches nothing, where Python's `re` would raise.
 */
export function fnmatch(name: string, pattern: string): boolean {
  const tokens = globTokens(pattern);
  const chars = [...name];
  let t = 0;
  let c = 0;
  let starAt = -1;
  let starMatched = 0;
  while (c < chars.length) {
    const token = tokens[t];
    if (token?.kind === 'star') {
      starAt = t++;
      starMatched = c;
    } else if (token && matchesOne(token, chars[c]!)) {
      t++;
      c++;
    } else if (starAt >= 0) {
      // Let the last `*` swallow one more character; earlier stars never need to move.
      t = starAt + 1;
      c = ++starMatched;
    } else return false;
  }
  while (tokens[t]?.kind === 'star') t++;
  return t === tokens.length;
}

function matchesOne(token: Exclude<GlobToken, { kind: 'star' }>, char: string): boolean {
  if (token.kind === 'any') return true;
  if (token.kind === 'char') return token.char === char;
  const inside = token.ranges.some(([low, high]) => low <= char && char <= high);
  return inside !== token.negated;
}

function globTokens(pattern: string): GlobToken[] {
  const chars = [...pattern];
  const tokens: GlobToken[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') {
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (c === '?') tokens.push({ kind: 'any' });
    else if (c === '[') {
      let j = i + 1;
      if (chars[j] === '!') j++;
      if (chars[j] === ']') j++;
      while (j < chars.length && chars[j] !== ']') j++;
      if (j >= chars.length) tokens.push({ kind: 'char', char: '[' });
      else {
        let body = chars.slice(i + 1, j);
        const negated = body[0] === '!';
        if (negated) body = body.slice(1);
        tokens.push({ kind: 'class', negated, ranges: classRanges(body) });
        i = j;
      }
    } else tokens.push({ kind: 'char', char: c });
  }
  return tokens;
}

/** `a-z0_` → [a,z], [0,0], [_,_]; a `-` first or last is literal; reversed ranges are dropped. */
function classRanges(body: readonly string[]): [string, string][] {
  const ranges: [string, string][] = [];
  for (let k = 0; k < body.length; k++) {
    const low = body[k]!;
    if (body[k + 1] === '-' && k + 2 < body.length) {
      const high = body[k + 2]!;
      if (low <= high) ranges.push([low, high]);
      k += 2;
    } else ranges.push([low, low]);
  }
  return ranges;
}
