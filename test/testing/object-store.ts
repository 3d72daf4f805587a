import type { ObjectStore } from '@granary/storage';

/** Every compacted object (Gnocchi layout, not checkpoints) with its bytes, by key. */
export async function compactedObjects(store: ObjectStore): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>();
  for (const key of await store.list('')) {
    if (key.startsWith('_checkpoints/')) continue;
    objects.set(key, Buffer.from((await store.get(key)) as Uint8Array));
  }
  return objects;
}
