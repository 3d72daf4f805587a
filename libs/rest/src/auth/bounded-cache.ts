/**
 * A Map-based LRU whose entries also expire: what the authenticators remember about credentials they
 * already checked, so a client on keep-alive pays scrypt or a Keystone round trip once, not per
 * request. Both the size and the lifetime are bounded, so a flood of distinct credentials cannot
 * grow memory and a revoked credential is forgotten within the TTL.
 */
export class BoundedTtlCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, expiresAt: number): void {
    if (this.maxEntries === 0 || expiresAt <= this.now()) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries) break;
      this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
