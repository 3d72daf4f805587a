import { defineErrors } from '@granary/errors';

/** The closed list of errors @granary/reader raises; callers branch on `code`. */
export const readerErrors = defineErrors({
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
