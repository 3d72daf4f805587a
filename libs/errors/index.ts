export { defineErrors, GranaryError, isRetriable, isTransientNetworkError } from './src/granary-error.ts';
export type { ErrorFactory, ErrorSpec } from './src/granary-error.ts';
