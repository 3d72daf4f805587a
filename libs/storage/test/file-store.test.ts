import { mkdtempSync } from 'node:fs';
import { mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileObjectStore, createObjectStore, storageErrors } from '../index.ts';
import { describeObjectStoreContract } from './object-store-contract.ts';

const root = mkdtempSync(join(tmpdir(), 'granary-storage-'));
let stores = 0;
const freshBase = () => join(root, `store-${++stores}`);

afterAll(() => rm(root, { recursive: true, force: true }));

describeObjectStoreContract('file driver', {
  open: async () => new FileObjectStore({ basePath: freshBase() }),
  atomicConditionalWrites: async () => true,
});

describe('file driver', () => {
  it('is what createObjectStore picks for driver "file"', async () => {
    const basePath = freshBase();
    const store = await createObjectStore({
      driver: 'file',
      file: { basePath },
      s3: {
        endpoint: 'http://unused',
        region: 'us-east-1',
        bucket: 'unused',
        accessKeyId: 'x',
        secretAccessKey: 'x',
        forcePathStyle: true,
      },
    });
    await store.put('m/none_v3', new Uint8Array([1]));
    expect(await readdir(join(basePath, 'm'))).toEqual(['none_v3']);
    expect(await store.conditionalWriteMechanism()).toBe('lock-file');
  });

  it('leaves no temporary or lock files behind and hides them from listings', async () => {
    const basePath = freshBase();
    const store = new FileObjectStore({ basePath });
    await store.put('x/obj', new Uint8Array([1]));
    await store.putIfMatch('x/cas', new Uint8Array([2]), null);
    expect((await readdir(join(basePath, 'x'))).sort()).toEqual(['cas', 'obj']);
    await writeFile(join(basePath, 'x', '.tmp-crashed-writer-obj'), 'half');
    expect(await store.list('x/')).toEqual(['x/cas', 'x/obj']);
  });

  it('leaves no temporary file behind when a batch fails part-way', async () => {
    const basePath = freshBase();
    const store = new FileObjectStore({ basePath });
    await store.put('m/blocker', new Uint8Array([1]));
    // `m/blocker` is a file, so nothing can be written below it.
    const attempt = store.putMany([
      { key: 'm/first', bytes: new Uint8Array([2]) },
      { key: 'm/blocker/below', bytes: new Uint8Array([3]) },
    ]);
    await expect(attempt).rejects.toSatisfy((err) => storageErrors.is(err, 'STORAGE_FAILED'));
    expect(await readdir(join(basePath, 'm'))).toEqual(['blocker']);
  });

  it('removes directories a delete empties', async () => {
    const basePath = freshBase();
    const store = new FileObjectStore({ basePath });
    await store.put('metric/agg/split', new Uint8Array([1]));
    await store.put('other', new Uint8Array([1]));
    await store.delete(['metric/agg/split']);
    expect(await readdir(basePath)).toEqual(['other']);
  });

  it('breaks the lock of a writer that crashed while holding it', async () => {
    const basePath = freshBase();
    const store = new FileObjectStore({ basePath, staleLockMs: 1_000 });
    await mkdir(join(basePath, 'p'), { recursive: true });
    const lock = join(basePath, 'p', '.lock-MANIFEST');
    await writeFile(lock, '');
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(lock, longAgo, longAgo);
    expect((await store.putIfMatch('p/MANIFEST', new Uint8Array([1]), null)).written).toBe(true);
  });

  it('gives up with a retriable error while another writer holds the lock', async () => {
    const basePath = freshBase();
    const store = new FileObjectStore({ basePath, lockTimeoutMs: 50 });
    await mkdir(join(basePath, 'p'), { recursive: true });
    await writeFile(join(basePath, 'p', '.lock-MANIFEST'), '');
    const attempt = store.putIfMatch('p/MANIFEST', new Uint8Array([1]), null);
    await expect(attempt).rejects.toSatisfy(
      (err) => storageErrors.is(err, 'STORAGE_UNAVAILABLE') && err.retriable,
    );
  });
});
