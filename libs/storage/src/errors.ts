import { defineErrors } from '@granary/errors';

/** The closed list of errors @granary/storage raises; callers branch on `code`. */
export const storageErrors = defineErrors({
  STORAGE_UNAVAILABLE: {
    message: 'Object storage is unavailable',
    status: 503,
    retriable: true,
  },
  STORAGE_FAILED: {
    message: 'Object storage rejected the request',
    status: 500,
    retriable: false,
  },
  STORAGE_TLS_UNTRUSTED: {
    message: "The S3 server's TLS certificate is not trusted (storage.s3.caFile, storage.s3.endpoint)",
    status: 500,
    retriable: false,
  },
  STORAGE_CA_FILE_UNREADABLE: {
    message: 'The CA bundle named by storage.s3.caFile cannot be read',
    status: 500,
    retriable: false,
  },
  STORAGE_INVALID_KEY: {
    message: 'Invalid object key',
    status: 400,
    retriable: false,
  },
  STORAGE_CONFLICT: {
    message: 'Conditional write lost: the object changed since it was read',
    status: 409,
    retriable: false,
  },
  STORAGE_CORRUPT_SEGMENT: {
    message: 'Checkpoint segment is corrupt or truncated',
    status: 500,
    retriable: false,
  },
  STORAGE_CORRUPT_MANIFEST: {
    message: 'Partition manifest is corrupt',
    status: 500,
    retriable: false,
  },
  STORAGE_INVALID_SEGMENT: {
    message: 'Checkpoint segment content cannot be encoded',
    status: 500,
    retriable: false,
  },
  STORAGE_INVALID_LAYOUT_KEY: {
    message: 'Not a Gnocchi storage key',
    status: 400,
    retriable: false,
  },
});

export type StorageErrorCode = (typeof storageErrors.codes)[number];
