import { type CarbonaraError, carbonaraErrors } from './errors.ts';
import { compressWithSize, decompressWithSize } from './lz4.ts';
import { type Points, emptyPoints } from './points.ts';
import { nextSplitKey, splitKeyOf } from './time.ts';

/**
 * Gnocchi's v3 object formats. Splits (`<method>_<granularity>_<key>_v3`): `c` + LZ4 block of
 * N uint16 LE time deltas in granularity units (the first from the split key) then N float64 LE
 * values. Raw tail (`none_v3`): LZ4 block of N uint64 LE nanosecond timestamps (the first absolute,
 * then deltas) then N float64 LE values. Typed-array views below assume a little-endian host.
 */

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('@granary/carbonara needs a little-endian host');
}

const COMPRESSED_MARKER = 0x63; // 'c'
const SPLIT_POINT_BYTES = 2 + 8;
const PADDED_POINT_BYTES = 1 + 8;
const RAW_POINT_BYTES = 8 + 8;
const NS_PER_US = 1000;
const TWO_POW_32 = 2 ** 32;
// Deltas (plus a sub-µs carry) with a high word below this stay exact in a double.
const EXACT_HIGH_WORD_LIMIT = 2 ** 20;

function corrupt(detail: string): CarbonaraError {
  return carbonaraErrors('CARBONARA_CORRUPT_DATA', detail);
}

// Payload buffer reused across encodes (the compressor copies out of it), with the views that
// write into it: allocating typed-array views per call is a measurable cost on small splits.
let splitPayload = splitPayloadOf(4096);

function splitPayloadOf(points: number): { bytes: Uint8Array; deltas: Uint16Array; view: DataView } {
  const bytes = new Uint8Array(points * SPLIT_POINT_BYTES);
  return { bytes, deltas: new Uint16Array(bytes.buffer), view: new DataView(bytes.buffer) };
}

/**
 * Serializes the points of one split (all in [key, next key), on the granularity grid) in
 * Gnocchi's compressed v3 format. Throws CARBONARA_INVALID_ARGUMENT for points outside the split.
 */
export function encodeSplit(key: number, granularity: number, points: Points): Uint8Array {
  const { timestamps, values } = points;
  const count = timestamps.length;
  if (splitPayload.bytes.length < count * SPLIT_POINT_BYTES) splitPayload = splitPayloadOf(count * 2);
  const { bytes: raw, deltas, view } = splitPayload;
  if (splitKeyOf(key, granularity) !== key) {
    throw carbonaraErrors(
      'CARBONARA_INVALID_ARGUMENT',
      `${key} is not a split key at granularity ${granularity}`,
    );
  }
  const end = nextSplitKey(key, granularity);
  let previous = key;
  for (let index = 0; index < count; index++) {
    const ts = timestamps[index] as number;
    const slots = (ts - previous) / granularity;
    if (!Number.isInteger(slots) || slots < (index > 0 ? 1 : 0) || ts >= end) {
      throw carbonaraErrors(
        'CARBONARA_INVALID_ARGUMENT',
        `point ${ts} does not fit split ${key} at granularity ${granularity}`,
      );
    }
    deltas[index] = slots;
    previous = ts;
  }
  for (let index = 0; index < count; index++) {
    view.setFloat64(count * 2 + index * 8, values[index] as number, true);
  }
  const encoded = compressWithSize(raw.subarray(0, count * SPLIT_POINT_BYTES), 1);
  encoded[0] = COMPRESSED_MARKER;
  return encoded;
}

/** Parses a v3 split (compressed, or Ceph's padded format); an error value when corrupt. */
export function decodeSplit(key: number, granularity: number, data: Uint8Array): Points | CarbonaraError {
  if (data.length === 0) return emptyPoints();
  if (data[0] === COMPRESSED_MARKER) return decodeCompressedSplit(key, granularity, data);
  return decodePaddedSplit(key, granularity, data);
}

function decodeCompressedSplit(key: number, granularity: number, data: Uint8Array): Points | CarbonaraError {
  const raw = decompressWithSize(data, 1);
  if (raw === null) return corrupt('split is not a valid LZ4 block');
  if (raw.length % SPLIT_POINT_BYTES !== 0) return corrupt(`split holds ${raw.length} bytes`);
  const count = raw.length / SPLIT_POINT_BYTES;
  const deltas = new Uint16Array(raw.buffer, 0, count);
  const timestamps = new Float64Array(count);
  let ts = key;
  for (let index = 0; index < count; index++) {
    const delta = deltas[index] as number;
    if (index > 0 && delta === 0) return corrupt('split repeats a timestamp');
    ts += delta * granularity;
    timestamps[index] = ts;
  }
  if (count > 0 && ts > Number.MAX_SAFE_INTEGER) return corrupt('split timestamps overflow');
  const values = new Float64Array(count);
  new Uint8Array(values.buffer).set(raw.subarray(count * 2));
  return { timestamps, values };
}

function decodePaddedSplit(key: number, granularity: number, data: Uint8Array): Points | CarbonaraError {
  if (data.length % PADDED_POINT_BYTES !== 0) return corrupt(`padded split holds ${data.length} bytes`);
  const slots = data.length / PADDED_POINT_BYTES;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const timestamps = new Float64Array(slots);
  const values = new Float64Array(slots);
  let count = 0;
  for (let slot = 0; slot < slots; slot++) {
    const flag = data[slot * PADDED_POINT_BYTES];
    if (flag === 0) continue;
    if (flag !== 1) return corrupt(`padded split has flag byte ${flag}`);
    timestamps[count] = key + slot * granularity;
    values[count++] = view.getFloat64(slot * PADDED_POINT_BYTES + 1, true);
  }
  return { timestamps: timestamps.subarray(0, count), values: values.subarray(0, count) };
}

/** Serializes the raw tail in Gnocchi's `none_v3` format (timestamps become nanoseconds). */
export function encodeRawTail(points: Points): Uint8Array {
  const { timestamps, values } = points;
  const count = timestamps.length;
  const raw = new Uint8Array(count * RAW_POINT_BYTES);
  const words = new Uint32Array(raw.buffer, 0, count * 2);
  const view = new DataView(raw.buffer);
  if (count > 0) view.setBigUint64(0, BigInt(timestamps[0] as number) * BigInt(NS_PER_US), true);
  for (let index = 1; index < count; index++) {
    const deltaMicros = (timestamps[index] as number) - (timestamps[index - 1] as number);
    const deltaNs = deltaMicros * NS_PER_US;
    if (deltaNs > Number.MAX_SAFE_INTEGER) {
      view.setBigUint64(index * 8, BigInt(deltaMicros) * BigInt(NS_PER_US), true);
    } else {
      words[index * 2] = deltaNs % TWO_POW_32;
      words[index * 2 + 1] = Math.floor(deltaNs / TWO_POW_32);
    }
  }
  new Float64Array(raw.buffer, count * 8, count).set(values);
  return compressWithSize(raw);
}

/**
 * Parses a `none_v3` raw tail; an error value when corrupt. Nanoseconds are floored to
 * microseconds; if two points then share a microsecond the later one is kept.
 */
export function decodeRawTail(data: Uint8Array): Points | CarbonaraError {
  const raw = decompressWithSize(data);
  if (raw === null) return corrupt('raw tail is not a valid LZ4 block');
  if (raw.length % RAW_POINT_BYTES !== 0) return corrupt(`raw tail holds ${raw.length} bytes`);
  const count = raw.length / RAW_POINT_BYTES;
  const view = new DataView(raw.buffer);
  const words = new Uint32Array(raw.buffer, 0, count * 2);
  const sourceValues = new Float64Array(raw.buffer, count * 8, count);
  const timestamps = new Float64Array(count);
  const values = new Float64Array(count);
  if (count === 0) return { timestamps, values };
  const firstNs = view.getBigUint64(0, true);
  let micros = Number(firstNs / BigInt(NS_PER_US));
  let nanosRemainder = Number(firstNs % BigInt(NS_PER_US));
  timestamps[0] = micros;
  values[0] = sourceValues[0] as number;
  let length = 1;
  for (let index = 1; index < count; index++) {
    const high = words[index * 2 + 1] as number;
    if (high >= EXACT_HIGH_WORD_LIMIT) {
      const deltaNs = view.getBigUint64(index * 8, true) + BigInt(nanosRemainder);
      micros += Number(deltaNs / BigInt(NS_PER_US));
      nanosRemainder = Number(deltaNs % BigInt(NS_PER_US));
    } else {
      const deltaNs = high * TWO_POW_32 + (words[index * 2] as number) + nanosRemainder;
      nanosRemainder = deltaNs % NS_PER_US;
      micros += (deltaNs - nanosRemainder) / NS_PER_US;
    }
    if (micros !== timestamps[length - 1]) length++;
    timestamps[length - 1] = micros;
    values[length - 1] = sourceValues[index] as number;
  }
  if (micros > Number.MAX_SAFE_INTEGER) return corrupt('raw tail timestamps overflow');
  return { timestamps: timestamps.subarray(0, length), values: values.subarray(0, length) };
}
