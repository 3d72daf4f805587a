import { createHash, randomUUID } from 'node:crypto';
import {
  type Dirent,
  closeSync,
  fdatasync,
  fsync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { link, mkdir, open, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { storageErrors } from './errors.ts';
import { assertValidKey, assertValidPrefix } from './keys.ts';
import {
  type ConditionalPutResult,
  type ObjectStore,
  type ObjectVersion,
  type StoredObject,
  type VersionedObject,
  lastOfEachKey,
} from './object-store.ts';

export interface FileStoreOptions {
  basePath: string;
  /**
   * A manifest lock older than this is taken to belong to a crashed writer and is broken. It must be
   * far longer than the lock is ever held (one small read and one small write).
   */
  staleLockMs?: number;
  /** How long a conditional write waits for another writer's lock before giving up (retriable). */
  lockTimeoutMs?: number;
}

const TEMP_PREFIX = '.tmp-';
const LOCK_PREFIX = '.lock-';

/** Content hash: equal bytes are the same manifest state, so ABA on equal content is harmless. */
function versionOf(bytes: Uint8Array): ObjectVersion {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 32);
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** Filesystem errors that may pass (a full disk gets freed, a descriptor limit drops). */
const TRANSIENT_ERRNOS = new Set(['ENOSPC', 'EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EIO']);

function mapFsError(err: unknown, action: string): Error {
  if (storageErrors.is(err)) return err;
  const code = errnoOf(err);
  const detail = `${action}: ${(err as Error).message}`;
  return code && TRANSIENT_ERRNOS.has(code)
    ? storageErrors('STORAGE_UNAVAILABLE', detail, { cause: err })
    : storageErrors('STORAGE_FAILED', detail, { cause: err });
}

const syncData = promisify(fdatasync);
const syncFile = promisify(fsync);

/** One object of a batch write, on its way from a temporary file to its key. */
interface PendingWrite {
  readonly key: string;
  readonly path: string;
  readonly temp: string;
  /** Open until the bytes are on disk and the file is closed; then undefined. */
  fd: number | undefined;
}

/**
 * The embedded driver: one file per object under `basePath`, keys as relative paths. Writes go to a
 * temporary file in the target directory and are renamed into place, so a reader or a crash never
 * sees half an object.
 *
 * Calls the page cache answers (creating and writing a file, reading one, listing a directory)
 * are synchronous: a trip through libuv's thread pool costs more CPU than such a call itself. Calls
 * that may wait for the device go to the pool: fsync and fdatasync, and rename, unlink and rmdir,
 * which free blocks (a filesystem mounted with `discard` trims them before returning).
 * See docs/adr/0024-file-store-calls-and-batched-durability.md.
 */
export class FileObjectStore implements ObjectStore {
  readonly driver = 'file';
  private readonly basePath: string;
  private readonly staleLockMs: number;
  private readonly lockTimeoutMs: number;

  constructor(options: FileStoreOptions) {
    this.basePath = resolve(options.basePath);
    this.staleLockMs = options.staleLockMs ?? 30_000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  }

  put(key: string, bytes: Uint8Array): Promise<void> {
    return this.putMany([{ key, bytes }]);
  }

  /**
   * Every object goes to its temporary file first; then all of them are synced together, renamed
   * into place, and each directory they landed in is synced once: one durability barrier for the
   * batch instead of one per object.
   */
  async putMany(objects: readonly StoredObject[]): Promise<void> {
    const pending: PendingWrite[] = [];
    try {
      for (const { key, bytes } of lastOfEachKey(objects)) pending.push(this.writeTemporary(key, bytes));
      const putOf = (write: PendingWrite) => `put ${write.key}`;
      await eachSettled(pending, (write) => syncData(write.fd as number), putOf);
      const directories = new Set<string>();
      for (const write of pending) {
        closeSync(write.fd as number);
        write.fd = undefined;
        directories.add(dirname(write.path));
      }
      await eachSettled(pending, (write) => rename(write.temp, write.path), putOf);
      await eachSettled(directories, syncDirectory, (directory) => `sync directory ${directory}`);
    } catch (err) {
      for (const write of pending) discard(write);
      throw mapFsError(err, 'put');
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    // Without the version: hashing every object read cost a one-year read ~5 ms for nothing.
    try {
      return readOrUndefined(this.pathOf(key));
    } catch (err) {
      throw mapFsError(err, `get ${key}`);
    }
  }

  async getWithVersion(key: string): Promise<VersionedObject | undefined> {
    const path = this.pathOf(key);
    try {
      const bytes = readOrUndefined(path);
      return bytes && { bytes, version: versionOf(bytes) };
    } catch (err) {
      throw mapFsError(err, `get ${key}`);
    }
  }

  async putIfMatch(
    key: string,
    bytes: Uint8Array,
    expectedVersion: ObjectVersion | null,
  ): Promise<ConditionalPutResult> {
    const path = this.pathOf(key);
    try {
      const lockPath = join(dirname(path), `${LOCK_PREFIX}${baseName(path)}`);
      await this.acquireLock(lockPath, key);
      try {
        const current = readOrUndefined(path);
        const currentVersion = current ? versionOf(current) : null;
        if (currentVersion !== expectedVersion) return { written: false, currentVersion };
        await this.putMany([{ key, bytes }]);
        return { written: true, version: versionOf(bytes) };
      } finally {
        await unlink(lockPath).catch(() => undefined);
      }
    } catch (err) {
      throw mapFsError(err, `conditional put ${key}`);
    }
  }

  async conditionalWriteMechanism(): Promise<'lock-file'> {
    return 'lock-file';
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    // Walk only the deepest directory the prefix names completely.
    const cut = prefix.lastIndexOf('/');
    const directoryKey = cut < 0 ? '' : prefix.slice(0, cut);
    const keys: string[] = [];
    try {
      this.walk(directoryKey, prefix, keys);
    } catch (err) {
      throw mapFsError(err, `list ${prefix}`);
    }
    return keys.sort();
  }

  async delete(keys: readonly string[]): Promise<void> {
    const paths = keys.map((key) => this.pathOf(key));
    try {
      for (const path of paths) {
        await unlink(path).catch((err: unknown) => {
          if (errnoOf(err) !== 'ENOENT') throw err;
        });
        await this.pruneEmptyDirectories(dirname(path));
      }
    } catch (err) {
      throw mapFsError(err, 'delete');
    }
  }

  async close(): Promise<void> {}

  private pathOf(key: string): string {
    assertValidKey(key);
    const path = join(this.basePath, ...key.split('/'));
    // Key validation already forbids `..`; this is the belt to those braces.
    if (!path.startsWith(this.basePath + sep)) throw storageErrors('STORAGE_INVALID_KEY', key);
    return path;
  }

  /**
   * Creates the object's temporary file beside its target and writes the bytes (not yet synced).
   * The directory is created only when the open finds it missing: nearly every write goes to a
   * directory that exists, and a mkdir each time was ~8% of the processor's compaction CPU.
   */
  private writeTemporary(key: string, bytes: Uint8Array): PendingWrite {
    const path = this.pathOf(key);
    const temp = join(dirname(path), `${TEMP_PREFIX}${randomUUID()}-${baseName(path)}`);
    const write: PendingWrite = { key, path, temp, fd: undefined };
    try {
      write.fd = openCreating(temp);
      for (let written = 0; written < bytes.length; ) {
        written += writeSync(write.fd, bytes, written, bytes.length - written);
      }
      return write;
    } catch (err) {
      discard(write);
      throw mapFsError(err, `put ${key}`);
    }
  }

  /**
   * An exclusive-create lock file beside the object. A crashed writer's lock is broken once stale:
   * renamed aside, then checked to be the very file judged stale (same inode), so a fresh lock
   * taken meanwhile by someone else is put back instead of being stolen.
   */
  private async acquireLock(lockPath: string, key: string): Promise<void> {
    const deadline = Date.now() + this.lockTimeoutMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      try {
        const handle = await open(lockPath, 'wx');
        await handle.close();
        return;
      } catch (err) {
        // A concurrent delete may have pruned the (empty) directory.
        if (errnoOf(err) === 'ENOENT') {
          await mkdir(dirname(lockPath), { recursive: true });
          continue;
        }
        if (errnoOf(err) !== 'EEXIST') throw err;
      }
      const lock = await stat(lockPath).catch(() => undefined);
      if (lock && Date.now() - lock.mtimeMs > this.staleLockMs) {
        const aside = `${lockPath}.${randomUUID()}`;
        if (
          await rename(lockPath, aside).then(
            () => true,
            () => false,
          )
        ) {
          const moved = await stat(aside);
          if (moved.ino !== lock.ino) await link(aside, lockPath).catch(() => undefined);
          await unlink(aside).catch(() => undefined);
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw storageErrors('STORAGE_UNAVAILABLE', `lock on ${key} held by another writer`);
      }
      await sleep(pause);
    }
  }

  private walk(directoryKey: string, prefix: string, keys: string[]): void {
    const directory = directoryKey ? join(this.basePath, ...directoryKey.split('/')) : this.basePath;
    let entries: Dirent[];
    try {
      entries = readdirSync(directory, { withFileTypes: true });
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue; // temporary and lock files
      const key = directoryKey ? `${directoryKey}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // Descend only where keys below can still match the prefix.
        if (prefix.startsWith(`${key}/`) || key.startsWith(prefix)) this.walk(key, prefix, keys);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        keys.push(key);
      }
    }
  }

  private async pruneEmptyDirectories(directory: string): Promise<void> {
    while (directory.startsWith(this.basePath + sep)) {
      try {
        await rmdir(directory);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
      directory = dirname(directory);
    }
  }
}

/** Creates (or truncates) a file for writing, creating its directory when missing. */
function openCreating(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
    mkdirSync(dirname(path), { recursive: true });
    return openSync(path, 'w');
  }
}

/** Undoes what a failed write left: its open file and its temporary file, if any. */
function discard(write: PendingWrite): void {
  if (write.fd !== undefined) {
    try {
      closeSync(write.fd);
    } catch {
      // The descriptor is gone either way; the write's own error is what gets reported.
    }
    write.fd = undefined;
  }
  try {
    unlinkSync(write.temp);
  } catch {
    // Renamed already, or never created: nothing to remove.
  }
}

/**
 * Runs `work` on every item at once and waits for all of them (a descriptor stays in use until its
 * call is done, so none may be closed early), then throws the first failure, mapped with `action`.
 */
async function eachSettled<Item>(
  items: Iterable<Item>,
  work: (item: Item) => Promise<unknown>,
  action: (item: Item) => string,
): Promise<void> {
  const outcomes = await Promise.allSettled(
    Array.from(items, (item) =>
      work(item).catch((err: unknown) => {
        throw mapFsError(err, action(item));
      }),
    ),
  );
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Make the renames themselves durable: a manifest is a checkpoint's commit point and must not fall
 * back to its previous version after a power loss once the Kafka offset is committed.
 */
async function syncDirectory(directory: string): Promise<void> {
  const fd = openSync(directory, 'r');
  try {
    await syncFile(fd);
  } finally {
    closeSync(fd);
  }
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf(sep) + 1);
}

function readOrUndefined(path: string): Uint8Array | undefined {
  try {
    // A plain Uint8Array, as the S3 driver returns, not a Buffer.
    const buffer = readFileSync(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}
