import { describe, expect, it } from 'vitest';
import { ByteBoundedLru } from '../index.ts';

describe('ByteBoundedLru', () => {
  it('evicts the least recently used entries once the byte bound is passed', () => {
    const cache = new ByteBoundedLru<string>(10);
    cache.set('a', 'A', 4);
    cache.set('b', 'B', 4);
    expect(cache.get('a')).toBe('A'); // now b is the least recently used
    cache.set('c', 'C', 4);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual(['A', undefined, 'C']);
    expect(cache.bytes).toBe(8);
  });

  it('does not keep an entry larger than the whole bound, nor evict others for it', () => {
    const cache = new ByteBoundedLru<string>(10);
    cache.set('a', 'A', 4);
    cache.set('huge', 'H', 11);
    expect([cache.get('a'), cache.get('huge')]).toEqual(['A', undefined]);
    expect(cache.bytes).toBe(4);
  });

  it('replaces an entry set again under the same key, counting its new size only', () => {
    const cache = new ByteBoundedLru<string>(10);
    cache.set('a', 'A', 4);
    cache.set('a', 'A2', 6);
    expect(cache.get('a')).toBe('A2');
    expect(cache.bytes).toBe(6);
  });

  it('keeps nothing with a zero bound', () => {
    const cache = new ByteBoundedLru<string>(0);
    cache.set('a', 'A', 1);
    expect(cache.get('a')).toBeUndefined();
  });
});
