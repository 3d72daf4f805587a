import { describe, expect, it } from 'vitest';
import { BoundedLru, ExpiringLru } from '../index.ts';

describe('BoundedLru', () => {
  it('evicts the least recently used entries once the weight bound is passed', () => {
    const cache = new BoundedLru<string>(10);
    cache.set('a', 'A', 4);
    cache.set('b', 'B', 4);
    expect(cache.get('a')).toBe('A'); // now b is the least recently used
    cache.set('c', 'C', 4);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual(['A', undefined, 'C']);
    expect([cache.weight, cache.size, cache.evictions]).toEqual([8, 2, 1]);
  });

  it('counts entries when no weight is given', () => {
    const cache = new BoundedLru<number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c'), cache.size]).toEqual([undefined, 2, 3, 2]);
  });

  it('does not keep an entry heavier than the whole bound, nor evict others for it', () => {
    const cache = new BoundedLru<string>(10);
    cache.set('a', 'A', 4);
    cache.set('huge', 'H', 11);
    expect([cache.get('a'), cache.get('huge')]).toEqual(['A', undefined]);
    expect(cache.weight).toBe(4);
  });

  it('replaces an entry set again under the same key, counting its new weight only', () => {
    const cache = new BoundedLru<string>(10);
    cache.set('a', 'A', 4);
    cache.set('a', 'A2', 6);
    expect(cache.get('a')).toBe('A2');
    expect(cache.weight).toBe(6);
    cache.set('a', 'A3', 11); // too heavy: the old entry is gone too, never served stale
    expect([cache.get('a'), cache.weight]).toEqual([undefined, 0]);
    expect(cache.evictions).toBe(0); // replaced, not evicted to make room
  });

  it('forgets a deleted entry and its weight', () => {
    const cache = new BoundedLru<string>(10);
    cache.set('a', 'A', 4);
    cache.delete('a');
    cache.delete('missing');
    expect([cache.get('a'), cache.weight, cache.size]).toEqual([undefined, 0, 0]);
  });

  it('keeps nothing with a zero bound', () => {
    const cache = new BoundedLru<string>(0);
    cache.set('a', 'A');
    expect(cache.get('a')).toBeUndefined();
  });

  it('takes keys that are Object.prototype names as plain data', () => {
    const cache = new BoundedLru<string>(4);
    expect(cache.get('__proto__')).toBeUndefined();
    expect(cache.get('constructor')).toBeUndefined();
    cache.set('__proto__', 'P');
    expect(cache.get('__proto__')).toBe('P');
  });
});

describe('ExpiringLru', () => {
  it('keeps at most its size, evicting the least recently used, and drops expired entries', () => {
    let now = 0;
    const cache = new ExpiringLru<number>(2, () => now);
    cache.set('a', 1, 100);
    cache.set('b', 2, 100);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3, 100);
    expect([cache.get('a'), cache.get('b'), cache.get('c'), cache.size]).toEqual([1, undefined, 3, 2]);
    now = 100;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(1); // the expired entry is gone, not only hidden
    cache.set('d', 4, 50);
    expect(cache.get('d')).toBeUndefined();
  });

  it('keeps nothing with a zero size', () => {
    const cache = new ExpiringLru<number>(0, () => 0);
    cache.set('a', 1, 100);
    expect(cache.get('a')).toBeUndefined();
  });
});
