export { defineErrors, GranaryError, isRetriable } from './src/granary-error.ts';
export type { ErrorFactory, ErrorSpec } from './src/granary-error.ts';
