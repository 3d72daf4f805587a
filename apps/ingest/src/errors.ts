import { defineErrors } from '@granary/errors';

/** The closed list of errors of the ingest app. */
export const ingestErrors = defineErrors({
  INGEST_UNSUPPORTED_PUBLISHER: {
    message: 'pipeline.yaml names a publisher Granary does not have',
    status: 500,
    retriable: false,
  },
  INGEST_EMPTY_RECORD: { message: 'Record without a value', status: 400, retriable: false },
  INGEST_RECORD_FAILED: {
    message: 'Handling the record failed with an error that has no code',
    status: 400,
    retriable: false,
  },
  INGEST_STATSD_RESOURCE_MISSING: {
    message: 'ingest.udp.statsd is enabled without a resourceId',
    status: 500,
    retriable: false,
  },
  INGEST_DEPENDENCY_FAILED: {
    message: 'A dependency failed with an error that has no code; the batch is retried',
    status: 503,
    retriable: true,
  },
});

export type IngestErrorCode = (typeof ingestErrors.codes)[number];
