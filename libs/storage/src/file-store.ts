import { createHash, randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import {
  link,
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  rmdir,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { storageErrors } from './errors.ts';
import { assertValidKey, assertValidPrefix } from './keys.ts';
import type { ConditionalPutResult, ObjectStore, ObjectVersion, VersionedObject } from './object-store.ts';

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

/**
 * The embedded driver: one file per object under `basePath`, keys as relative paths. Writes go to a
 * temporary file in the target directory and are renamed into place, so a reader or a crash never
 * sees half an object.
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

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    try {
      await this.writeAtomically(path, bytes);
    } catch (err) {
      throw mapFsError(err, `put ${key}`);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.getWithVersion(key))?.bytes;
  }

  async getWithVersion(key: string): Promise<VersionedObject | undefined> {
    const path = this.pathOf(key);
    try {
      const bytes = await readOrUndefined(path);
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
        const current = await readOrUndefined(path);
        const currentVersion = current ? versionOf(current) : null;
        if (currentVersion !== expectedVersion) return { written: false, currentVersion };
        await this.writeAtomically(path, bytes);
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
      await this.walk(directoryKey, prefix, keys);
    } catch (err) {
      throw mapFsError(err, `list ${prefix}`);
    }
    return keys.sort();
  }

  async delete(keys: readonly string[]): Promise<void> {
    const paths = keys.map((key) => this.pathOf(key));
    try {
      for (const path of paths) {
        await unlink(path).catch((err) => {
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

  private async writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
    const directory = dirname(path);
    const temp = join(directory, `${TEMP_PREFIX}${randomUUID()}-${baseName(path)}`);
    // The directory is created only when the write finds it missing: nearly every write goes to a
    // directory that exists, and a mkdir each time was ~8% of the processor's compaction CPU
    // (bench-vs-gnocchi profile). A concurrent delete may prune it again after mkdir: retried.
    for (let attempt = 1; ; attempt++) {
      try {
        await writeFile(temp, bytes, { flush: true });
        await rename(temp, path);
        await syncDirectory(directory);
        return;
      } catch (err) {
        await unlink(temp).catch(() => undefined);
        if (errnoOf(err) !== 'ENOENT' || attempt >= 4) throw err;
        await mkdir(directory, { recursive: true });
      }
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

  private async walk(directoryKey: string, prefix: string, keys: string[]): Promise<void> {
    const directory = directoryKey ? join(this.basePath, ...directoryKey.split('/')) : this.basePath;
    let entries: Dirent[];
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue; // temporary and lock files
      const key = directoryKey ? `${directoryKey}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // Descend only where keys below can still match the prefix.
        if (prefix.startsWith(`${key}/`) || key.startsWith(prefix)) await this.walk(key, prefix, keys);
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

/**
 * Make the rename itself durable: a manifest is a checkpoint's commit point and must not fall back
 * to its previous version after a power loss once the Kafka offset is committed.
 */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf(sep) + 1);
}

async function readOrUndefined(path: string): Promise<Uint8Array | undefined> {
  try {
    // A plain Uint8Array, as the S3 driver returns, not a Buffer.
    const buffer = await readFile(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}
