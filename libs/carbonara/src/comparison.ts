/**
 * Gnocchi's spellings of the comparison operators, one table for the two places it accepts them:
 * resource search filters (the indexer's) and /v1/aggregates' operations.
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
