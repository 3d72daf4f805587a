/**
 * Kafka's Java `Utils.murmur2` (seed 0x9747b28c) and the default partitioner's
 * `toPositive(murmur2(keyBytes)) % numPartitions`, so that Granary, kafkajs's DefaultPartitioner
 * and every Java client put a key on the same partition. 32-bit arithmetic via Math.imul.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Java's `Utils.murmur2(byte[])`, as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The 1–3 trailing bytes, as Java's fall-through switch adds them.
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= data[whole + 2]! << 16;
    if (tail >= 2) h ^= data[whole + 1]! << 8;
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which differs for MIN_VALUE). */
export function toPositive(hash: number): number {
  return hash & 0x7fffffff;
}

/**
 * The partition Kafka's default partitioner gives `key` among `numPartitions`: what the API and
 * the processors use to find the partition that owns a metric. Strings are hashed as UTF-8 bytes.
 */
export function partitionFor(key: string | Uint8Array, numPartitions: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return toPositive(murmur2(bytes)) % numPartitions;
}
