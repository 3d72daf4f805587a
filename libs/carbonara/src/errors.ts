import { type GranaryError, defineErrors } from '@granary/errors';

/** Carbonara's closed list of errors. Nothing here is retriable: the same input fails the same way. */
export const carbonaraErrors = defineErrors({
  CARBONARA_INVALID_POLICY: { message: 'Invalid archive policy', status: 400, retriable: false },
  CARBONARA_UNKNOWN_METHOD: { message: 'Unknown aggregation method', status: 400, retriable: false },
  CARBONARA_INVALID_MEASURE: { message: 'Invalid measure', status: 400, retriable: false },
  CARBONARA_INVALID_ARGUMENT: { message: 'Invalid argument', status: 400, retriable: false },
  CARBONARA_CORRUPT_DATA: { message: 'Corrupt serialized data', status: 500, retriable: false },
});

export type CarbonaraErrorCode = (typeof carbonaraErrors.codes)[number];
export type CarbonaraError = GranaryError<CarbonaraErrorCode>;
