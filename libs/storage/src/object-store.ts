/**
 * One interface over the storage drivers. Keys are `/`-separated and identical on every driver, so
 * a deployment can move between the filesystem and S3 by copying objects.
 */

/** Opaque token naming one written state of an object (an S3 ETag, a content hash on disk). */
export type ObjectVersion = string;

export interface VersionedObject {
  readonly bytes: Uint8Array;
  readonly version: ObjectVersion;
}

/** Outcome of a compare-and-set write; losing is an expected answer, not an error. */
export type ConditionalPutResult =
  | { readonly written: true; readonly version: ObjectVersion }
  | { readonly written: false; readonly currentVersion: ObjectVersion | null };

/** One object of a batch write. */
export interface StoredObject {
  readonly key: string;
  readonly bytes: Uint8Array;
}

/**
 * A batch with each key once, at its last bytes: a driver that writes a batch's objects in
 * parallel would otherwise let the two writes of a key race.
 */
export function lastOfEachKey(objects: readonly StoredObject[]): StoredObject[] {
  const byKey = new Map<string, StoredObject>();
  for (const object of objects) {
    byKey.delete(object.key);
    byKey.set(object.key, object);
  }
  return [...byKey.values()];
}

export type ConditionalWriteMechanism = 'lock-file' | 'native' | 'emulated';

export interface ObjectStore {
  readonly driver: 'file' | 's3';
  /** Write the whole object; readers see the old bytes or the new ones, never a mix. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /**
   * Write each object as `put` does; once this resolves, all of them are durable. Cheaper than one
   * `put` each: the driver may share one durability barrier among them. Not atomic as a whole: after
   * a failure or a crash, any subset may have been written. A key given twice ends with its last bytes.
   */
  putMany(objects: readonly StoredObject[]): Promise<void>;
  /** The object's bytes, or undefined when there is no such object. */
  get(key: string): Promise<Uint8Array | undefined>;
  getWithVersion(key: string): Promise<VersionedObject | undefined>;
  /**
   * Write only if the object is still at `expectedVersion` (`null`: only if it does not exist).
   * This is the fencing primitive of the partition manifest; see docs/adr/0005-manifest-fencing.md.
   * Objects written this way must not also be written with `put`.
   */
  putIfMatch(
    key: string,
    bytes: Uint8Array,
    expectedVersion: ObjectVersion | null,
  ): Promise<ConditionalPutResult>;
  /**
   * How `putIfMatch` is enforced, for start-up logs: `lock-file` (filesystem), `native` (the S3
   * server's conditional PUT) or `emulated` (check-write-recheck, best effort). See the ADR.
   */
  conditionalWriteMechanism(): Promise<ConditionalWriteMechanism>;
  /** Every key starting with `prefix` (a plain string prefix, not only whole path levels), sorted. */
  list(prefix: string): Promise<string[]>;
  /** Delete these objects; keys that do not exist are not an error. */
  delete(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
