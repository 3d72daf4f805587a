import { describe, expect, it } from 'vitest';
import {
  type ObjectStore,
  claimPartition,
  readManifest,
  segmentKey,
  storageErrors,
  writeManifest,
} from '../index.ts';

export interface ContractOptions<Store extends ObjectStore> {
  /** A fresh, empty store for each test. */
  open(): Promise<Store>;
  /**
   * Whether this store decides concurrent conditional writes atomically. The S3 driver's emulation
   * for servers without conditional PUT does not (see the ADR), so racing writers are only tested
   * where the store promises it.
   */
  atomicConditionalWrites(store: Store): Promise<boolean>;
}

/** Concurrent conditional writers per race: enough that a non-atomic check-then-write lets two through. */
const RACERS = 16;

const bytesOf = (text: string) => new TextEncoder().encode(text);
const textOf = (bytes: Uint8Array | undefined) => (bytes ? new TextDecoder().decode(bytes) : undefined);

async function withStore<Store extends ObjectStore>(
  options: ContractOptions<Store>,
  body: (store: Store) => Promise<void>,
): Promise<void> {
  const store = await options.open();
  try {
    await body(store);
  } finally {
    await store.close();
  }
}

/** The behaviour every driver owes its callers; each driver's test file runs it. */
export function describeObjectStoreContract<Store extends ObjectStore>(
  name: string,
  options: ContractOptions<Store>,
): void {
  const test = (title: string, body: (store: Store) => Promise<void>) =>
    it(title, () => withStore(options, body));

  describe(`${name}: object store contract`, () => {
    test('reads back what was written, byte for byte', async (store) => {
      const every = Uint8Array.from({ length: 256 }, (_, i) => i);
      await store.put('a/b/binary', every);
      await store.put('a/empty', new Uint8Array());
      expect(await store.get('a/b/binary')).toEqual(every);
      expect(await store.get('a/empty')).toEqual(new Uint8Array());
    });

    test('answers undefined for a missing object', async (store) => {
      expect(await store.get('nothing/here')).toBeUndefined();
      expect(await store.getWithVersion('nothing/here')).toBeUndefined();
    });

    test('replaces an object on put', async (store) => {
      await store.put('k', bytesOf('one'));
      await store.put('k', bytesOf('two'));
      expect(textOf(await store.get('k'))).toBe('two');
    });

    test('writes a batch: every object, byte for byte, new directories and replacements alike', async (store) => {
      await store.put('batch/old', bytesOf('before'));
      const objects = [
        { key: 'batch/old', bytes: bytesOf('after') },
        { key: 'batch/new/deeper', bytes: Uint8Array.from({ length: 256 }, (_, i) => i) },
        { key: 'elsewhere/one', bytes: new Uint8Array() },
        // A key given more than once: written in parallel, the writes would race.
        ...Array.from({ length: 8 }, (_, i) => ({ key: 'batch/twice', bytes: bytesOf(`write ${i}`) })),
      ];
      await store.putMany(objects);
      await store.putMany([]);
      expect(textOf(await store.get('batch/old'))).toBe('after');
      expect(await store.get('batch/new/deeper')).toEqual(objects[1]?.bytes);
      expect(await store.get('elsewhere/one')).toEqual(new Uint8Array());
      expect(textOf(await store.get('batch/twice'))).toBe('write 7');
      expect(await store.list('')).toEqual(['batch/new/deeper', 'batch/old', 'batch/twice', 'elsewhere/one']);
    });

    test('a batch with a bad key fails with its code, leaving each other object whole or untouched', async (store) => {
      await store.put('bad-batch/a', bytesOf('old a'));
      const attempt = store.putMany([
        { key: 'bad-batch/a', bytes: bytesOf('new a') },
        { key: '../escape', bytes: bytesOf('x') },
        { key: 'bad-batch/b', bytes: bytesOf('new b') },
      ]);
      await expect(attempt).rejects.toSatisfy((err) => storageErrors.is(err, 'STORAGE_INVALID_KEY'));
      expect(['old a', 'new a']).toContain(textOf(await store.get('bad-batch/a')));
      expect([undefined, 'new b']).toContain(textOf(await store.get('bad-batch/b')));
      expect((await store.list('')).filter((key) => !key.startsWith('bad-batch/'))).toEqual([]);
    });

    test('lists by plain string prefix, sorted, across levels', async (store) => {
      const keys = [
        'm1/mean_60.0_1.0_v3',
        'm1/mean_300.0_0.0_v3',
        'm1/rate:mean_60.0_0.0_v3',
        'm1/none_v3',
        'm1/deeper/x',
        'm10/none_v3',
        'm2/none_v3',
      ];
      for (const key of keys) await store.put(key, bytesOf(key));
      expect(await store.list('m1/')).toEqual([
        'm1/deeper/x',
        'm1/mean_300.0_0.0_v3',
        'm1/mean_60.0_1.0_v3',
        'm1/none_v3',
        'm1/rate:mean_60.0_0.0_v3',
      ]);
      expect(await store.list('m1/mean_60.0_')).toEqual(['m1/mean_60.0_1.0_v3']);
      expect(await store.list('m1')).toHaveLength(6);
      expect(await store.list('')).toEqual([...keys].sort());
      expect(await store.list('nope/')).toEqual([]);
    });

    test('lists past one page of results', async (store) => {
      const keys = Array.from({ length: 25 }, (_, i) => `paged/${String(i).padStart(3, '0')}`);
      await Promise.all(keys.map((key) => store.put(key, bytesOf(key))));
      expect(await store.list('paged/')).toEqual(keys);
    });

    test('deletes many objects and ignores missing ones', async (store) => {
      await Promise.all(['d/1', 'd/2', 'd/3', 'keep'].map((key) => store.put(key, bytesOf(key))));
      await store.delete(['d/1', 'd/2', 'd/3', 'd/never-existed']);
      await store.delete([]);
      expect(await store.list('')).toEqual(['keep']);
      expect(await store.get('d/1')).toBeUndefined();
    });

    test('rejects keys that are absolute, relative or use reserved characters', async (store) => {
      const bad = [
        '',
        '/abs',
        '../up',
        'a/../b',
        'a/./b',
        'a//b',
        'trailing/',
        '.hidden',
        'a\\b',
        'sp ace',
        'é',
      ];
      for (const key of bad) {
        await expect(store.put(key, bytesOf('x')), key).rejects.toSatisfy((err) =>
          storageErrors.is(err, 'STORAGE_INVALID_KEY'),
        );
        await expect(store.get(key), key).rejects.toSatisfy((err) =>
          storageErrors.is(err, 'STORAGE_INVALID_KEY'),
        );
      }
      await expect(store.delete(['ok', '../x'])).rejects.toSatisfy((err) =>
        storageErrors.is(err, 'STORAGE_INVALID_KEY'),
      );
      await expect(store.list('../')).rejects.toSatisfy((err) =>
        storageErrors.is(err, 'STORAGE_INVALID_KEY'),
      );
    });

    test('conditional write: create only when absent', async (store) => {
      const created = await store.putIfMatch('cas/m', bytesOf('v1'), null);
      expect(created.written).toBe(true);
      const again = await store.putIfMatch('cas/m', bytesOf('other'), null);
      expect(again).toEqual({ written: false, currentVersion: created.written && created.version });
      expect(textOf(await store.get('cas/m'))).toBe('v1');
    });

    test('conditional write: replace only at the expected version', async (store) => {
      const first = await store.putIfMatch('cas/m', bytesOf('v1'), null);
      if (!first.written) throw new Error('first write lost');
      expect((await store.getWithVersion('cas/m'))?.version).toBe(first.version);

      const second = await store.putIfMatch('cas/m', bytesOf('v2'), first.version);
      if (!second.written) throw new Error('second write lost');
      expect(second.version).not.toBe(first.version);

      const stale = await store.putIfMatch('cas/m', bytesOf('zombie'), first.version);
      expect(stale).toEqual({ written: false, currentVersion: second.version });
      const missing = await store.putIfMatch('cas/absent', bytesOf('x'), first.version);
      expect(missing).toEqual({ written: false, currentVersion: null });
      expect(textOf(await store.get('cas/m'))).toBe('v2');
      expect(await store.get('cas/absent')).toBeUndefined();
    });

    // Atomic stores (filesystem lock, MinIO's and AWS's conditional PUT) let exactly one racer win;
    // S3Proxy (and the driver's emulation) check and write apart and may let several through, but
    // never leave a loser's bytes. Both conditions are raced: create-if-absent and replace-at-version.
    for (const [condition, raced] of [
      ['If-None-Match: * (create)', async () => null],
      ['If-Match (replace)', (store: Store) => store.putIfMatch('race/m', bytesOf('base'), null)],
    ] as const) {
      it(`conditional write: ${RACERS} racing ${condition} writers leave one winner when atomic, a winner's bytes always`, () =>
        withStore(options, async (store) => {
          const atomic = await options.atomicConditionalWrites(store);
          const base = await raced(store);
          if (base && !base.written) throw new Error('base write lost');
          const results = await Promise.all(
            Array.from({ length: RACERS }, (_, i) =>
              store.putIfMatch('race/m', bytesOf(`writer ${i}`), base ? base.version : null),
            ),
          );
          const winners = results.flatMap((result, i) => (result.written ? [i] : []));
          const stored = await store.getWithVersion('race/m');
          if (atomic) {
            expect(winners).toHaveLength(1);
            const won = results[winners[0] as number];
            expect(stored?.version).toBe(won?.written && won.version);
          } else {
            expect(winners.length).toBeGreaterThanOrEqual(1);
          }
          expect(winners.map((i) => `writer ${i}`)).toContain(textOf(stored?.bytes));
        }));
    }

    test('manifest fencing: a zombie owner cannot overwrite the new owner', async (store) => {
      const old = await claimPartition(store, 'granary.measures', 7, 3, 1);
      const oldCheckpoint = {
        ...old.manifest,
        offset: 100,
        segments: [{ seq: 0, generation: 3, firstOffset: 0, lastOffset: 99 }],
      };
      const oldVersion = await writeManifest(store, oldCheckpoint, old.version);

      const next = await claimPartition(store, 'granary.measures', 7, 4, 2);
      expect(next.manifest).toMatchObject({ generation: 4, offset: 100, segments: oldCheckpoint.segments });

      // The old owner has not noticed yet and checkpoints again: fenced.
      const zombieWrite = writeManifest(store, { ...oldCheckpoint, offset: 150 }, oldVersion);
      await expect(zombieWrite).rejects.toSatisfy((err) => storageErrors.is(err, 'STORAGE_CONFLICT'));
      // Claiming again with its stale generation is refused too.
      await expect(claimPartition(store, 'granary.measures', 7, 3, 3)).rejects.toSatisfy((err) =>
        storageErrors.is(err, 'STORAGE_CONFLICT'),
      );
      expect((await readManifest(store, 'granary.measures', 7))?.manifest).toEqual(next.manifest);
      // Both owners numbered their next segment 1, yet their objects differ.
      expect(segmentKey('granary.measures', 7, { seq: 1, generation: 3 })).not.toBe(
        segmentKey('granary.measures', 7, { seq: 1, generation: 4 }),
      );
    });
  });
}
