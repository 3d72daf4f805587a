import { createRedisClient } from '@granary/coordination';
import type { Redis } from 'ioredis';

/**
 * The cache ingest processes share (Redis): key → text with a time to live. Losing it costs
 * speed, never data, so callers treat a failure as a miss.
 */
export interface SharedCache {
  getMany(keys: readonly string[]): Promise<Array<string | null>>;
  setMany(entries: ReadonlyArray<readonly [string, string]>, ttlSeconds: number): Promise<void>;
}

export class RedisCache implements SharedCache {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly keyPrefix: string,
    onError: (error: Error) => void,
  ) {
    // Fail fast rather than queue while disconnected: the index answers meanwhile.
    this.redis = createRedisClient({ url }, { role: 'commands', lazyConnect: true, onError });
  }

  connect(): Promise<void> {
    return this.redis.connect();
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return this.redis.mget(keys.map((key) => this.keyPrefix + key));
  }

  async setMany(entries: ReadonlyArray<readonly [string, string]>, ttlSeconds: number): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [key, value] of entries) pipeline.set(this.keyPrefix + key, value, 'EX', ttlSeconds);
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error !== null);
    if (failed) throw failed[0];
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
