import { defineErrors } from '@granary/errors';

/** The closed list of errors @granary/coordination raises; callers branch on `code`. */
export const coordinationErrors = defineErrors({
  COORDINATION_UNAVAILABLE: {
    message: 'Redis, which carries refresh requests, watermarks and rebuilds, cannot be reached',
    status: 503,
    retriable: true,
  },
  COORDINATION_REFRESH_TIMEOUT: {
    message: 'The partition was not checkpointed up to the request time within the refresh timeout',
    status: 503,
    retriable: true,
  },
  COORDINATION_REBUILD_NOT_ACCEPTED: {
    message: 'No processor answered the rebuild request',
    status: 503,
    retriable: true,
  },
  COORDINATION_REBUILD_TIMEOUT: {
    message: 'The rebuild was accepted but did not finish in time; it may still finish',
    status: 504,
    retriable: true,
  },
});

export type CoordinationErrorCode = (typeof coordinationErrors.codes)[number];
