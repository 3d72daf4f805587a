/**
 * Gnocchi's spellings of the comparison operators, one table for the three places it accepts them:
 * resource search filters (the indexer's), /v1/aggregates' operations and the measure search.
 */
export const COMPARISON_ALIASES = {
  '=': 'eq',
  '==': 'eq',
  eq: 'eq',
  '<': 'lt',
  lt: 'lt',
  '>': 'gt',
  gt: 'gt',
  '<=': 'le',
  '≤': 'le',
  le: 'le',
  '>=': 'ge',
  '≥': 'ge',
  ge: 'ge',
  '!=': 'ne',
  '≠': 'ne',
  ne: 'ne',
} as const;

export type Comparison = (typeof COMPARISON_ALIASES)[keyof typeof COMPARISON_ALIASES];

/**
 * Gnocchi's spellings of the arithmetic operators, which /v1/aggregates' operations and the measure
 * search accept beside the comparisons.
 */
export const ARITHMETIC_ALIASES = {
  '%': 'mod',
  mod: 'mod',
  '+': 'add',
  add: 'add',
  '-': 'sub',
  sub: 'sub',
  '*': 'mul',
  '×': 'mul',
  mul: 'mul',
  '/': 'div',
  '÷': 'div',
  div: 'div',
  '**': 'pow',
  '^': 'pow',
  pow: 'pow',
} as const;

export type Arithmetic = (typeof ARITHMETIC_ALIASES)[keyof typeof ARITHMETIC_ALIASES];
