/** Public surface of @granary/bounded-cache: the in-process LRU caches every lib uses. Pure. */
export { BoundedLru, ExpiringLru } from './src/lru.ts';
