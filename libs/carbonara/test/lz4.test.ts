import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compressWithSize, decompressWithSize } from '../src/lz4.ts';

interface Lz4Fixture {
  name: string;
  input: string;
  compressed: string;
}

const fixtures: { lz4: Lz4Fixture[] } = JSON.parse(
  readFileSync(new URL('./fixtures/gnocchi-v3.json', import.meta.url), 'utf8'),
);
const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

describe('LZ4 block codec', () => {
  for (const fixture of fixtures.lz4) {
    it(`decodes python-lz4's block for ${fixture.name}`, () => {
      expect(decompressWithSize(fromBase64(fixture.compressed))).toEqual(fromBase64(fixture.input));
    });
    it(`compresses ${fixture.name} to exactly python-lz4's bytes`, () => {
      expect(compressWithSize(fromBase64(fixture.input))).toEqual(fromBase64(fixture.compressed));
    });
  }

  it('round-trips arbitrary and repetitive bytes', () => {
    const repetitive = fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 300 }))
      .map(([unit, times]) => new Uint8Array(Array.from({ length: times }, () => [...unit]).flat()));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 3000 }), repetitive), (input) => {
        expect(decompressWithSize(compressWithSize(input))).toEqual(input);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves room for a caller header', () => {
    const compressed = compressWithSize(new Uint8Array([1, 2, 3]), 1);
    expect(compressed[0]).toBe(0);
    expect(decompressWithSize(compressed, 1)).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('rejects corrupt blocks without throwing', () => {
    const valid = compressWithSize(new TextEncoder().encode('hello hello hello hello hello hello'));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc
            .tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }))
            .map(([at, byte]) => valid.map((value, index) => (index === at ? byte : value))),
          fc.nat(valid.length - 1).map((length) => valid.slice(0, length)),
        ),
        (bytes) => {
          const result = decompressWithSize(bytes);
          expect(result === null || result instanceof Uint8Array).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
    expect(decompressWithSize(new Uint8Array([0xff, 0xff, 0xff, 0x7f, 0]))).toBeNull();
  });
});
