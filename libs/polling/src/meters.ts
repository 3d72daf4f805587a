/**
 * Ceilometer's meter filter (`agent.Source`): fnmatch patterns, `!pattern` exclusions. Any
 * matching exclusion denies; otherwise any matching inclusion allows; a list of exclusions only
 * allows everything else.
 */
export class MeterFilter {
  private readonly included: RegExp[];
  private readonly excluded: RegExp[];

  constructor(readonly patterns: readonly string[]) {
    this.included = patterns.filter((p) => !p.startsWith('!')).map(fnmatchToRegExp);
    this.excluded = patterns.filter((p) => p.startsWith('!')).map((p) => fnmatchToRegExp(p.slice(1)));
  }

  matches(meter: string): boolean {
    if (this.excluded.some((pattern) => pattern.test(meter))) return false;
    if (this.included.some((pattern) => pattern.test(meter))) return true;
    return this.included.length === 0;
  }
}

/**
 * Why a meter list is refused, as Ceilometer's `check_source_filtering` does; undefined when fine.
 * Plain names cannot be mixed with exclusions (the exclusions would mean nothing), nor `*` with
 * plain names (the names would mean nothing).
 */
export function meterListProblem(patterns: readonly string[]): string | undefined {
  if (patterns.length === 0) return 'the meter list is empty';
  const isPlain = (p: string) => !p.startsWith('!') && !p.startsWith('*');
  const hasPlain = patterns.some(isPlain);
  if (hasPlain && patterns.some((p) => p.startsWith('!')))
    return 'both included and excluded meters specified';
  if (hasPlain && patterns.includes('*')) return "'*' cannot be mixed with meter names";
  return undefined;
}

/** Python's `fnmatch.fnmatchcase`: `*`, `?`, `[seq]` and `[!seq]`, anchored at both ends. */
export function fnmatchToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let set = pattern.slice(i + 1, close);
      const negated = set.startsWith('!');
      if (negated) set = set.slice(1);
      source += `[${negated ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}
