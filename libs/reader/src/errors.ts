import { defineErrors } from '@granary/errors';

/** The closed list of errors @granary/reader raises; callers branch on `code`. */
export const readerErrors = defineErrors({
  READER_REFRESH_TIMEOUT: {
    message: 'The partition was not checkpointed up to the request time within the refresh timeout',
    status: 503,
    retriable: true,
  },
  READER_REFRESH_UNAVAILABLE: {
    message: 'Redis, which carries refresh requests and watermarks, cannot be reached',
    status: 503,
    retriable: true,
  },
  READER_SEGMENTS_MOVING: {
    message: 'Live checkpoint segments kept vanishing under the reader (compaction racing)',
    status: 503,
    retriable: true,
  },
  READER_CORRUPT_OBJECT: {
    message: 'A stored split or checkpoint segment cannot be decoded',
    status: 500,
    retriable: false,
  },
});

export type ReaderErrorCode = (typeof readerErrors.codes)[number];
