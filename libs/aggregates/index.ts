/** Public surface of @granary/aggregates: Gnocchi's `/v1/aggregates` operations language (pure). */
export { type AggregatesDescription, type AggregatesErrorCode, aggregatesError } from './src/errors.ts';
export {
  type EvaluateOptions,
  type EvaluationResult,
  FILL_MODES,
  type Fill,
  type GranularityInput,
  type OutputSeries,
  evaluateOperations,
} from './src/evaluate.ts';
export {
  type MetricReference,
  OPERATION_NAMES,
  type Operation,
  REDUCERS,
  expandReferences,
  parseOperations,
  referenceKey,
  referencesOf,
} from './src/parse.ts';
