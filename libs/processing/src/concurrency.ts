import { setImmediate } from 'node:timers/promises';

/** Runs `work` over `items` with at most `limit` calls in flight; rejects with the first failure. */
export async function forEachConcurrently<Item>(
  items: readonly Item[],
  limit: number,
  work: (item: Item) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as Item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Starts `work` for every item, letting the event loop run between two starts, and waits for all:
 * a partition's checkpoint takes and encodes its changes synchronously (tens of milliseconds per
 * 10,000 dirty metrics), so starting every partition's at once would hold timers, the consumer's
 * heartbeat and SIGTERM for the sum of them.
 */
export async function startEachYielding<Item>(
  items: readonly Item[],
  work: (item: Item) => Promise<void>,
): Promise<void> {
  const running: Promise<void>[] = [];
  for (const item of items) {
    if (running.length > 0) await setImmediate();
    running.push(work(item));
  }
  await Promise.all(running);
}
