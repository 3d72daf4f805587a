import { defineErrors } from '@granary/errors';

/** The closed list of errors of @granary/polling. */
export const pollingErrors = defineErrors({
  POLLING_CONFIG_UNREADABLE: { message: 'polling.yaml cannot be read', status: 500, retriable: true },
  POLLING_CONFIG_INVALID: { message: 'Invalid polling.yaml', status: 500, retriable: false },
  POLLING_DEFINITIONS_INVALID: { message: 'Invalid pollster definitions', status: 500, retriable: false },
  /**
   * Ceilometer's PollsterPermanentError: the pollster can never poll these resources (unsupported
   * meter, refused credentials); they are blacklisted for the (source, pollster) until restart.
   * `details.resources` lists them; absent means every resource of the call.
   */
  POLLING_PERMANENT_FAILURE: { message: 'Pollster cannot poll the resource', status: 500, retriable: false },
  POLLING_SOURCE_FAILED: { message: 'Polled source failed', status: 502, retriable: true },
  POLLING_BAD_RESPONSE: {
    message: 'Polled source answered something unusable',
    status: 502,
    retriable: false,
  },
  POLLING_UNKNOWN_DISCOVERY: { message: 'Unknown discovery plugin', status: 500, retriable: false },
});

export type PollingErrorCode = (typeof pollingErrors.codes)[number];
