import { defineErrors } from '@granary/errors';

/** The closed list of errors of @granary/expression. */
export const expressionErrors = defineErrors({
  EXPRESSION_SYNTAX: { message: 'Expression cannot be parsed', status: 400, retriable: false },
  EXPRESSION_FAILED: { message: 'Expression failed', status: 400, retriable: false },
  EXPRESSION_LIMIT: { message: 'Expression exceeded its resource limits', status: 400, retriable: false },
});

export type ExpressionErrorCode = (typeof expressionErrors.codes)[number];
