import { defineErrors } from '@granary/errors';

/** The closed list of errors @granary/processing raises; callers branch on `code`. */
export const processingErrors = defineErrors({
  PROCESSING_UNKNOWN_METRIC: {
    message: 'Measures for a metric the index does not know',
    status: 404,
    retriable: false,
  },
  PROCESSING_INVALID_MEASURES: {
    message: 'Measures cannot be applied',
    status: 400,
    retriable: false,
  },
  PROCESSING_RECORD_FAILED: {
    message: 'Applying the record failed with an error that has no code',
    status: 400,
    retriable: false,
  },
  PROCESSING_PARTITION_LOST: {
    message: 'Partition is owned by another processor (fenced)',
    status: 409,
    retriable: false,
  },
  PROCESSING_NOT_OWNED: {
    message: 'Partition is not owned by this processor',
    status: 409,
    retriable: false,
  },
  PROCESSING_MISSING_SEGMENT: {
    message: 'A live checkpoint segment named by the manifest is missing',
    status: 500,
    retriable: false,
  },
  PROCESSING_NOTHING_APPLIED: {
    message: 'Nothing was applied on this partition yet, so there is nothing to rebuild from',
    status: 409,
    retriable: false,
  },
  PROCESSING_REBUILD_UNAVAILABLE: {
    message: 'This processor cannot read the measures topic again, so it cannot rebuild metrics',
    status: 503,
    retriable: false,
  },
  PROCESSING_INVALID_POLICY: {
    message: 'Archive policy from the index cannot be used',
    status: 500,
    retriable: false,
  },
});

export type ProcessingErrorCode = (typeof processingErrors.codes)[number];
