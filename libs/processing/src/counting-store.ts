import type { ConditionalPutResult, ObjectStore, ObjectVersion } from '@granary/storage';
import type { ProcessingInstruments } from './instruments.ts';

export type WriteKind = 'segment' | 'manifest' | 'split' | 'raw_tail';

function kindOf(key: string): WriteKind {
  if (key.startsWith('_checkpoints/')) return key.endsWith('/MANIFEST') ? 'manifest' : 'segment';
  return key.endsWith('/none_v3') ? 'raw_tail' : 'split';
}

/** An ObjectStore that counts the objects and bytes written through it, by kind. */
export function countingStore(store: ObjectStore, instruments: ProcessingInstruments): ObjectStore {
  const count = (key: string, bytes: Uint8Array) => {
    const kind = kindOf(key);
    instruments.objectWrites.inc({ kind });
    instruments.bytesWritten.inc({ kind }, bytes.length);
  };
  return {
    driver: store.driver,
    put: async (key: string, bytes: Uint8Array) => {
      await store.put(key, bytes);
      count(key, bytes);
    },
    putMany: async (objects) => {
      await store.putMany(objects);
      for (const { key, bytes } of objects) count(key, bytes);
    },
    get: (key) => store.get(key),
    getWithVersion: (key) => store.getWithVersion(key),
    putIfMatch: async (
      key: string,
      bytes: Uint8Array,
      expected: ObjectVersion | null,
    ): Promise<ConditionalPutResult> => {
      const result = await store.putIfMatch(key, bytes, expected);
      if (result.written) count(key, bytes);
      return result;
    },
    conditionalWriteMechanism: () => store.conditionalWriteMechanism(),
    list: (prefix) => store.list(prefix),
    delete: (keys) => store.delete(keys),
    close: () => store.close(),
  };
}
