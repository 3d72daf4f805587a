/**
 * Snappy's block format (what Prometheus remote write compresses with; `snappy.uncompress` in
 * Gnocchi): a varint of the decompressed length, then literals and back-references. Written here
 * rather than taken from a package because it is short, and because the decoder must refuse a
 * hostile header before allocating: the declared length is checked against `maxBytes` first, and
 * every element is bounds-checked, so no input can read or write outside its buffers.
 */

export type SnappyResult = { bytes: Uint8Array } | { error: string; tooLarge?: true };

export function snappyUncompress(input: Uint8Array, maxBytes: number): SnappyResult {
  let at = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (at >= input.length || shift > 28) return { error: 'invalid snappy length header' };
    const byte = input[at++]!;
    length += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
  }
  if (length > maxBytes) {
    return { error: `snappy data decompresses to ${length} bytes, more than ${maxBytes}`, tooLarge: true };
  }
  const out = new Uint8Array(length);
  let written = 0;
  /** `count` little-endian bytes at the cursor, or -1 when the input ends first. */
  const readLittleEndian = (count: number): number => {
    if (at + count > input.length) return -1;
    let value = 0;
    for (let i = 0; i < count; i++) value += input[at + i]! * 2 ** (8 * i);
    at += count;
    return value;
  };
  while (at < input.length) {
    const tag = input[at++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let size = tag >> 2;
      if (size >= 60) {
        size = readLittleEndian(size - 59);
        if (size < 0) return { error: 'truncated snappy literal' };
      }
      size += 1;
      if (at + size > input.length) return { error: 'truncated snappy literal' };
      if (written + size > length) return { error: 'snappy data longer than its header says' };
      out.set(input.subarray(at, at + size), written);
      at += size;
      written += size;
      continue;
    }
    let size: number;
    let offset: number;
    if (kind === 1) {
      size = 4 + ((tag >> 2) & 7);
      const low = readLittleEndian(1);
      offset = low < 0 ? -1 : ((tag >> 5) << 8) | low;
    } else {
      size = (tag >> 2) + 1;
      offset = readLittleEndian(kind === 2 ? 2 : 4);
    }
    if (offset < 0) return { error: 'truncated snappy copy' };
    if (offset === 0 || offset > written) return { error: 'snappy copy refers outside the data' };
    if (written + size > length) return { error: 'snappy data longer than its header says' };
    // Byte by byte: a copy may overlap what it produces (a run).
    for (let i = 0; i < size; i++, written++) out[written] = out[written - offset]!;
  }
  if (written !== length) return { error: 'snappy data shorter than its header says' };
  return { bytes: out };
}
