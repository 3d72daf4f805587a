import { type EvaluationLimits, interpret } from './interpreter.ts';
import { type ParseLimits, parse } from './parser.ts';

export type ExpressionLimits = ParseLimits & EvaluationLimits;

export const DEFAULT_EXPRESSION_LIMITS: ExpressionLimits = {
  maxSourceLength: 4096,
  maxDepth: 64,
  maxSteps: 100_000,
  maxCallDepth: 32,
  maxStringLength: 1 << 20,
  maxListLength: 100_000,
};

/** A parsed expression, evaluated as often as needed against different variables. */
export interface Expression {
  readonly source: string;
  /** The value (JSON-like: null, boolean, number, string, arrays, plain objects); throws coded errors. */
  evaluate(variables?: Readonly<Record<string, unknown>>): unknown;
}

/**
 * Compile an expression of the safe Python-like language (see parser.ts for what it accepts).
 * Syntax errors are thrown here (EXPRESSION_SYNTAX), so a bad definition is refused
 * when it is loaded rather than at its first evaluation.
 */
export function compileExpression(source: string, limits: Partial<ExpressionLimits> = {}): Expression {
  const effective = { ...DEFAULT_EXPRESSION_LIMITS, ...limits };
  const tree = parse(source, effective);
  return { source, evaluate: (variables = {}) => interpret(tree, variables, effective) };
}
