import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionFor, toPositive } from '../index.ts';

describe('murmur2', () => {
  // Kafka's own UtilsTest.testMurmur2: what Java's Utils.murmur2 returns for these UTF-8 strings.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('murmur2(%j) is %d as in Java', (key, expected) => {
    expect(murmur2(Buffer.from(key, 'utf8'))).toBe(expected);
  });

  it('toPositive clears the sign bit as Java does, including for MIN_VALUE', () => {
    expect(toPositive(-973932308)).toBe(-973932308 & 0x7fffffff);
    expect(toPositive(-(2 ** 31))).toBe(0);
    expect(toPositive(479470107)).toBe(479470107);
  });

  it('partitionFor agrees with kafkajs DefaultPartitioner (Java-compatible) on keyed records', () => {
    const kafkajsPartition = Partitioners.DefaultPartitioner();
    for (const partitions of [1, 3, 64, 1000]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
        partitionId,
        leader: 1,
        replicas: [1],
        isr: [1],
        partitionErrorCode: 0,
      }));
      for (let i = 0; i < 500; i++) {
        const key = i % 2 ? crypto.randomUUID() : `résource-${i}-✓`;
        const expected = kafkajsPartition({ topic: 't', partitionMetadata, message: { key, value: null } });
        expect(partitionFor(key, partitions)).toBe(expected);
        expect(partitionFor(Buffer.from(key), partitions)).toBe(expected);
      }
    }
  });

  it('is stable for a known metric id (Java: toPositive(murmur2) % 64)', () => {
    const key = '0b8a2a8e-54d2-4a43-9d2a-1f5b9f0c7e21';
    expect(partitionFor(key, 64)).toBe(toPositive(murmur2(Buffer.from(key))) % 64);
    expect(partitionFor('foobar', 64)).toBe(toPositive(-790332482) % 64);
  });
});
