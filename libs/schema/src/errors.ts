import { defineErrors } from '@granary/errors';

/**
 * Why a record could not be encoded or decoded. The registry being unreachable or wrong is worth
 * retrying; every other code is a property of the record itself, so it goes to a dead-letter topic.
 */
export const schemaErrors = defineErrors({
  SCHEMA_CORRUPT_RECORD: {
    message: 'Record is not a Confluent-framed Avro value of its writer schema',
    status: 400,
    retriable: false,
  },
  SCHEMA_UNKNOWN_SCHEMA_ID: {
    message: 'Record names a schema id the registry does not know',
    status: 400,
    retriable: false,
  },
  SCHEMA_WRONG_SCHEMA: {
    message: 'Record was written with a schema this reader cannot resolve',
    status: 400,
    retriable: false,
  },
  SCHEMA_INVALID_VALUE: { message: 'Value does not match its Avro schema', status: 400, retriable: false },
  SCHEMA_INCOMPATIBLE: {
    message: 'Schema is not compatible with the versions registered under its subject',
    status: 409,
    retriable: false,
  },
  SCHEMA_REGISTRY_REJECTED: {
    message: 'Schema registry rejected the request',
    status: 500,
    retriable: false,
  },
  SCHEMA_REGISTRY_UNAVAILABLE: { message: 'Schema registry is unavailable', status: 503, retriable: true },
  // The registry, not the record, is wrong (forgotten or replaced schemas): dead-lettering would
  // empty the backlog, so the reader holds the partition and retries until the registry is fixed.
  SCHEMA_REGISTRY_MISMATCH: {
    message:
      "Registry does not know a record's schema id, or maps it to another record type than the topic's",
    status: 503,
    retriable: true,
  },
});

export type SchemaErrorCode = (typeof schemaErrors.codes)[number];
