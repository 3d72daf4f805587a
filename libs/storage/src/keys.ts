import { storageErrors } from './errors.ts';

/**
 * Characters allowed in a key level: enough for Gnocchi names (`rate:mean_60.0_1425600000.0_v3`),
 * UUIDs and Kafka topic names, and nothing a filesystem or an S3 URL treats specially.
 */
const KEY_LEVEL = /^[A-Za-z0-9_:+=@,-][A-Za-z0-9_.:+=@,-]*$/;
const MAX_KEY_BYTES = 1024;

/**
 * Reject keys that could escape the filesystem driver's base directory or mean different objects
 * on different drivers: absolute, empty levels, `.`/`..`, levels starting with `.` (reserved for the
 * filesystem driver's temporary and lock files), characters outside KEY_LEVEL.
 */
export function assertValidKey(key: string): void {
  if (key.length === 0 || key.length > MAX_KEY_BYTES) {
    throw storageErrors('STORAGE_INVALID_KEY', `length ${key.length} outside 1..${MAX_KEY_BYTES}`);
  }
  for (const level of key.split('/')) {
    if (!KEY_LEVEL.test(level)) throw storageErrors('STORAGE_INVALID_KEY', JSON.stringify(key));
  }
}

/** A listing prefix may end in the middle of a level (`<metric>/mean_60.0_`) or be empty. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
