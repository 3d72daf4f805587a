import { type GranaryError, defineErrors } from '@granary/errors';

/**
 * The operations language's closed list of errors. `details.description` is the body Gnocchi
 * answers with (`{cause, reason, detail}`), so the API can pass it through.
 */
export const aggregatesError = defineErrors({
  AGGREGATES_INVALID_OPERATIONS: { message: 'Invalid operations', status: 400, retriable: false },
  AGGREGATES_UNAGGREGATABLE: { message: 'Metrics cannot be aggregated', status: 400, retriable: false },
  AGGREGATES_TOO_COSTLY: { message: 'Operations too costly', status: 400, retriable: false },
});

export type AggregatesErrorCode = (typeof aggregatesError.codes)[number];

export interface AggregatesDescription {
  cause: string;
  reason: string;
  detail: string | string[];
}

export function describedAggregatesError(
  code: AggregatesErrorCode,
  description: AggregatesDescription,
): GranaryError<AggregatesErrorCode> {
  return aggregatesError(code, description.reason, { details: { description } });
}

/** Voluptuous's wording for an invalid `operations` value of the request body. */
export const invalidOperations = (message: string) =>
  describedAggregatesError('AGGREGATES_INVALID_OPERATIONS', {
    cause: 'Invalid input',
    reason: `${message} for dictionary value @ data['operations']`,
    detail: ['operations'],
  });

/** Gnocchi's UnAggregableTimeseries: the references involved and why. */
export const unaggregatable = (references: readonly string[], reason: string) =>
  describedAggregatesError('AGGREGATES_UNAGGREGATABLE', {
    cause: 'Metrics cannot be aggregated',
    reason,
    detail: [...references],
  });
