/** Public surface of @granary/expression: compile a Python-like expression once, evaluate it often. */
export { DEFAULT_EXPRESSION_LIMITS, compileExpression } from './src/compile.ts';
export type { Expression, ExpressionLimits } from './src/compile.ts';
export { expressionErrors } from './src/errors.ts';
export type { ExpressionErrorCode } from './src/errors.ts';
