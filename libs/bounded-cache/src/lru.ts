/**
 * A least-recently-used cache bounded by the total weight of its entries: by default each weighs
 * 1 (a bound on their count); a caller that holds buffers weighs them in bytes. Keys are kept in a
 * Map (never a plain object: they come from users). Entries are never revalidated: only for values
 * that do not go stale, or see `ExpiringLru`.
 */
export class BoundedLru<V> {
  // A Map iterates in insertion order; re-inserting on every hit keeps the oldest use first.
  readonly #entries = new Map<string, { value: V; weight: number }>();
  #weight = 0;
  #evictions = 0;

  constructor(private readonly maxWeight: number) {}

  /** The total weight held. */
  get weight(): number {
    return this.#weight;
  }

  /** Entries evicted to make room since the cache was made (a caller's metrics read it). */
  get evictions(): number {
    return this.#evictions;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` unless it alone outweighs the bound; evicts the least recently used to fit. */
  set(key: string, value: V, weight = 1): void {
    this.delete(key);
    if (weight > this.maxWeight) return;
    this.#entries.set(key, { value, weight });
    this.#weight += weight;
    for (const [oldest, entry] of this.#entries) {
      if (this.#weight <= this.maxWeight) break;
      this.#entries.delete(oldest);
      this.#weight -= entry.weight;
      this.#evictions++;
    }
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#weight -= entry.weight;
  }
}

/**
 * A `BoundedLru` of at most `maxEntries` whose entries also expire: both memory and how long a
 * remembered answer (a checked credential) is trusted stay bounded.
 */
export class ExpiringLru<V> {
  readonly #entries: BoundedLru<{ value: V; expiresAt: number }>;

  constructor(
    maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#entries = new BoundedLru(maxEntries);
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > this.now()) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** Stores `value` until `expiresAt` (the clock's unit); one already expired is not stored. */
  set(key: string, value: V, expiresAt: number): void {
    if (expiresAt <= this.now()) return;
    this.#entries.set(key, { value, expiresAt });
  }
}
