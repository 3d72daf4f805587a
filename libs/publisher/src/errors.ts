import { defineErrors } from '@granary/errors';

/** The closed list of errors of @granary/publisher. */
export const publisherErrors = defineErrors({
  PUBLISHER_DEFINITIONS_INVALID: {
    message: 'Invalid resource definitions (gnocchi_resources.yaml)',
    status: 500,
    retriable: false,
  },
  PUBLISHER_INVALID_NOTIFICATION: {
    message: 'Not an oslo.messaging sample notification',
    status: 400,
    retriable: false,
  },
  PUBLISHER_INVALID_SAMPLE: { message: 'Invalid sample', status: 400, retriable: false },
  PUBLISHER_INVALID_VOLUME: {
    message: 'Sample volume missing or not a number',
    status: 400,
    retriable: false,
  },
  PUBLISHER_UNSIGNED_SAMPLE: { message: 'Sample is not signed', status: 401, retriable: false },
  PUBLISHER_FORGED_SAMPLE: { message: 'Sample signature does not match', status: 401, retriable: false },
  PUBLISHER_RESOURCE_REFUSED: {
    message: 'The index refused the resource or its metrics',
    status: 400,
    retriable: false,
  },
});

export type PublisherErrorCode = (typeof publisherErrors.codes)[number];
