/**
 * The LZ4 block format (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md), as python-lz4's
 * `lz4.block.compress`/`decompress` use it with `store_size=True`: a 4-byte little-endian
 * uncompressed size, then one raw block. The compressor replays liblz4 1.9's
 * `LZ4_compress_fast_continue` on a fresh stream (what python-lz4 calls, acceleration 1): same
 * 5-byte hash, 4096-entry table starting at position 0, search order and skip steps, so it
 * writes the same bytes as Gnocchi does.
 */

const MIN_MATCH = 4;
/** A match must start at least this many bytes before the end of the block. */
const MF_LIMIT = 12;
/** The last bytes of a block are always literals. */
const LAST_LITERALS = 5;
const MAX_OFFSET = 65_535;
const HASH_LOG = 12;
/** After 2^SKIP_TRIGGER failed probes the search step grows by one: incompressible data goes fast. */
const SKIP_TRIGGER = 6;
/** No LZ4 block expands its input more than 255-fold (one length byte stands for 255 output bytes). */
const MAX_EXPANSION = 255;
const SIZE_PREFIX_BYTES = 4;
// liblz4's 5-byte hash multiplies by 889523592379 modulo 2^64; its two 32-bit halves:
const PRIME5_HIGH = 207;
const PRIME5_LOW = 465_362_107;

// liblz4 starts each block with a zeroed table (every hash points at position 0). Positions are
// stored here as `generation + position` instead, so entries left by earlier inputs read as
// position 0 and the table never needs clearing.
const hashTable = new Int32Array(1 << HASH_LOG);
let generation = 1;
let outputScratch = new Uint8Array(1 << 16);

function read32(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at] as number) |
    ((bytes[at + 1] as number) << 8) |
    ((bytes[at + 2] as number) << 16) |
    ((bytes[at + 3] as number) << 24)
  );
}

/**
 * liblz4's `LZ4_hash5` on a little-endian 64-bit host: the top HASH_LOG bits of
 * ((5 bytes at `at`) << 24) × 889523592379 mod 2^64, computed with 32-bit pieces. `sequence` is
 * read32(bytes, at), which the caller has already read.
 */
function hashAt(bytes: Uint8Array, at: number, sequence: number): number {
  const byte0 = sequence & 0xff;
  const high = (sequence >>> 8) | ((bytes[at + 4] as number) << 24);
  // (high·2^32 + byte0·2^24) × (PRIME5_HIGH·2^32 + PRIME5_LOW): its upper 32 bits, where the
  // carry out of byte0·2^24 × PRIME5_LOW is ⌊byte0 × PRIME5_LOW / 2^8⌋.
  const carry = byte0 * (PRIME5_LOW >>> 8) + ((byte0 * (PRIME5_LOW & 0xff)) >>> 8);
  const upper = (Math.imul(high, PRIME5_LOW) + Math.imul(byte0 << 24, PRIME5_HIGH) + carry) >>> 0;
  return upper >>> (32 - HASH_LOG);
}

/** Position stored for a hash; 0 for entries older than this block. */
function candidateAt(slot: number, base: number): number {
  const stored = (hashTable[slot] as number) - base;
  return stored < 0 ? 0 : stored;
}

function writeLength(out: Uint8Array, at: number, extra: number): number {
  let rest = extra;
  while (rest >= 255) {
    out[at++] = 255;
    rest -= 255;
  }
  out[at++] = rest;
  return at;
}

function copyBytes(from: Uint8Array, start: number, end: number, to: Uint8Array, at: number): void {
  if (end - start > 32) {
    to.set(from.subarray(start, end), at);
    return;
  }
  for (let index = start; index < end; index++) to[at++] = from[index] as number;
}

// Writes one sequence (literals [anchor, literalEnd) then an optional match) and returns the new
// output position; matchLength 0 means the final literals-only sequence.
function writeSequence(
  input: Uint8Array,
  anchor: number,
  literalEnd: number,
  offset: number,
  matchLength: number,
  out: Uint8Array,
  at: number,
): number {
  const literalLength = literalEnd - anchor;
  const tokenAt = at++;
  let token = literalLength >= 15 ? 0xf0 : literalLength << 4;
  if (literalLength >= 15) at = writeLength(out, at, literalLength - 15);
  copyBytes(input, anchor, literalEnd, out, at);
  at += literalLength;
  if (matchLength > 0) {
    out[at++] = offset & 0xff;
    out[at++] = offset >>> 8;
    const extra = matchLength - MIN_MATCH;
    token |= extra >= 15 ? 15 : extra;
    if (extra >= 15) at = writeLength(out, at, extra - 15);
  }
  out[tokenAt] = token;
  return at;
}

/**
 * Compresses `input` into a fresh array laid out as `leading` zero bytes (for the caller's own
 * header), the 4-byte LE size, then the LZ4 block.
 */
export function compressWithSize(input: Uint8Array, leading = 0): Uint8Array {
  const length = input.length;
  const bound = leading + SIZE_PREFIX_BYTES + length + Math.ceil(length / 255) + 16;
  if (outputScratch.length < bound) outputScratch = new Uint8Array(bound * 2);
  const out = outputScratch;
  if (generation + length + 1 >= 0x7fff_ffff) {
    hashTable.fill(0);
    generation = 1;
  }
  const base = generation;
  generation += length + 1;

  let at = leading + SIZE_PREFIX_BYTES;
  let anchor = 0;
  const searchLimit = length - MF_LIMIT + 1;
  const matchLimit = length - LAST_LITERALS;
  if (length > MF_LIMIT) {
    hashTable[hashAt(input, 0, read32(input, 0))] = base;
    let position = 1;
    search: for (;;) {
      // Find a match, probing further apart the longer the search fails.
      let candidate: number;
      let step = 1;
      let probes = 1 << SKIP_TRIGGER;
      for (let next = position; ; ) {
        position = next;
        next += step;
        step = probes++ >> SKIP_TRIGGER;
        if (next > searchLimit) break search;
        const sequence = read32(input, position);
        const slot = hashAt(input, position, sequence);
        candidate = candidateAt(slot, base);
        hashTable[slot] = base + position;
        if (position - candidate <= MAX_OFFSET && read32(input, candidate) === sequence) break;
      }
      while (position > anchor && candidate > 0 && input[position - 1] === input[candidate - 1]) {
        position--;
        candidate--;
      }
      // Emit it, then keep emitting while the very next position also matches.
      for (;;) {
        let matchEnd = position + MIN_MATCH;
        let reference = candidate + MIN_MATCH;
        while (matchEnd < matchLimit && input[matchEnd] === input[reference]) {
          matchEnd++;
          reference++;
        }
        at = writeSequence(input, anchor, position, position - candidate, matchEnd - position, out, at);
        position = matchEnd;
        anchor = position;
        if (position >= searchLimit) break search;
        hashTable[hashAt(input, position - 2, read32(input, position - 2))] = base + position - 2;
        const sequence = read32(input, position);
        const slot = hashAt(input, position, sequence);
        candidate = candidateAt(slot, base);
        hashTable[slot] = base + position;
        if (position - candidate > MAX_OFFSET || read32(input, candidate) !== sequence) break;
      }
      position++;
    }
  }
  at = writeSequence(input, anchor, length, 0, 0, out, at);

  const result = out.slice(0, at);
  result.fill(0, 0, leading);
  const sizeAt = leading;
  result[sizeAt] = length & 0xff;
  result[sizeAt + 1] = (length >>> 8) & 0xff;
  result[sizeAt + 2] = (length >>> 16) & 0xff;
  result[sizeAt + 3] = length >>> 24;
  return result;
}

/**
 * Decompresses a size-prefixed block starting at `from`; null when the bytes are not a valid
 * block of the announced size (never reads or writes out of bounds, never allocates more than
 * the input could expand to).
 */
export function decompressWithSize(data: Uint8Array, from = 0): Uint8Array | null {
  if (data.length - from < SIZE_PREFIX_BYTES + 1) return null;
  const size = read32(data, from);
  if (size < 0 || size > (data.length - from - SIZE_PREFIX_BYTES) * MAX_EXPANSION) return null;
  const out = new Uint8Array(size);
  const end = data.length;
  let position = from + SIZE_PREFIX_BYTES;
  let at = 0;
  for (;;) {
    if (position >= end) return null;
    const token = data[position++] as number;
    let literalLength = token >>> 4;
    if (literalLength === 15) {
      let extra: number;
      do {
        if (position >= end) return null;
        extra = data[position++] as number;
        literalLength += extra;
      } while (extra === 255);
    }
    if (position + literalLength > end || at + literalLength > size) return null;
    copyBytes(data, position, position + literalLength, out, at);
    position += literalLength;
    at += literalLength;
    if (position === end) break;
    if (position + 2 > end) return null;
    const offset = (data[position] as number) | ((data[position + 1] as number) << 8);
    position += 2;
    if (offset === 0 || offset > at) return null;
    let matchLength = token & 15;
    if (matchLength === 15) {
      let extra: number;
      do {
        if (position >= end) return null;
        extra = data[position++] as number;
        matchLength += extra;
      } while (extra === 255);
    }
    matchLength += MIN_MATCH;
    if (at + matchLength > size) return null;
    let source = at - offset;
    const matchEnd = at + matchLength;
    if (offset >= matchLength) {
      out.copyWithin(at, source, source + matchLength);
      at = matchEnd;
    } else {
      while (at < matchEnd) out[at++] = out[source++] as number;
    }
  }
  return at === size ? out : null;
}
