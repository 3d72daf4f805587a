/**
 * Prometheus remote write's `WriteRequest` (protobuf, `gnocchi/rest/prometheus/remote.proto`):
 *
 *   WriteRequest { repeated TimeSeries timeseries = 1; }
 *   TimeSeries   { repeated LabelPair labels = 1; repeated Sample samples = 2; }
 *   LabelPair    { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp_ms = 2; }
 *
 * Decoded by hand (the four messages are the whole schema, a generated codec would be larger
 * than this): unknown fields are skipped, as protobuf requires (newer senders add metadata,
 * exemplars and histograms), a known field with the wrong wire type or anything truncated is an
 * error, and strings must be UTF-8. Labels are kept in order as pairs: the caller decides what a
 * repeated name means.
 */

export interface RemoteSample {
  value: number;
  /** Epoch ms as sent (any int64 that fits a double exactly; the caller checks the range). */
  timestampMs: number;
}

export interface RemoteTimeSeries {
  labels: [name: string, value: string][];
  samples: RemoteSample[];
}

export type RemoteWriteResult = { timeseries: RemoteTimeSeries[] } | { error: string };

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

class DecodeError extends Error {}

export function decodeWriteRequest(bytes: Uint8Array): RemoteWriteResult {
  try {
    const timeseries: RemoteTimeSeries[] = [];
    forEachField(new Reader(bytes), (reader, field, wireType) => {
      if (field === 1) timeseries.push(decodeTimeSeries(reader.message(wireType, 'timeseries')));
      else reader.skip(wireType);
    });
    return { timeseries };
  } catch (err) {
    if (err instanceof DecodeError) return { error: err.message };
    throw err;
  }
}

function decodeTimeSeries(reader: Reader): RemoteTimeSeries {
  const series: RemoteTimeSeries = { labels: [], samples: [] };
  forEachField(reader, (r, field, wireType) => {
    if (field === 1) series.labels.push(decodeLabel(r.message(wireType, 'label')));
    else if (field === 2) series.samples.push(decodeSample(r.message(wireType, 'sample')));
    else r.skip(wireType);
  });
  return series;
}

function decodeLabel(reader: Reader): [string, string] {
  let name = '';
  let value = '';
  forEachField(reader, (r, field, wireType) => {
    if (field === 1) name = r.string(wireType, 'label name');
    else if (field === 2) value = r.string(wireType, 'label value');
    else r.skip(wireType);
  });
  return [name, value];
}

function decodeSample(reader: Reader): RemoteSample {
  const sample: RemoteSample = { value: 0, timestampMs: 0 };
  forEachField(reader, (r, field, wireType) => {
    if (field === 1) sample.value = r.double(wireType);
    else if (field === 2) sample.timestampMs = r.int64(wireType);
    else r.skip(wireType);
  });
  return sample;
}

function forEachField(reader: Reader, onField: (reader: Reader, field: number, wireType: number) => void) {
  while (!reader.done()) {
    const key = reader.varint();
    const field = Math.floor(key / 8);
    if (field === 0) throw new DecodeError('invalid protobuf field number 0');
    onField(reader, field, key % 8);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A cursor over one message's bytes; every read is bounds-checked. */
class Reader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  done(): boolean {
    return this.at >= this.bytes.length;
  }

  /**
   * An unsigned varint of at most 10 bytes, for keys and lengths: past 2^53 it is approximate,
   * which only makes a length fail its bounds check.
   */
  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const byte = this.byte();
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new DecodeError('protobuf varint longer than 10 bytes');
  }

  /**
   * int64, exactly (negative numbers are 10-byte two's complement varints), as a double: one past
   * 2^53 in magnitude comes out inexact, and the caller's range check refuses it.
   */
  int64(wireType: number): number {
    this.expect(wireType, VARINT, 'timestamp_ms');
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = this.byte();
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return Number(BigInt.asIntN(64, value));
    }
    throw new DecodeError('protobuf varint longer than 10 bytes');
  }

  private byte(): number {
    if (this.done()) throw new DecodeError('truncated protobuf varint');
    return this.bytes[this.at++]!;
  }

  double(wireType: number): number {
    this.expect(wireType, FIXED64, 'sample value');
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.take(8), 8);
    return view.getFloat64(0, true);
  }

  message(wireType: number, what: string): Reader {
    this.expect(wireType, LENGTH_DELIMITED, what);
    const length = this.varint();
    const from = this.take(length);
    return new Reader(this.bytes.subarray(from, from + length));
  }

  string(wireType: number, what: string): string {
    const reader = this.message(wireType, what);
    try {
      return utf8.decode(reader.bytes);
    } catch {
      throw new DecodeError(`${what} is not valid UTF-8`);
    }
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === FIXED64) this.take(8);
    else if (wireType === FIXED32) this.take(4);
    else if (wireType === LENGTH_DELIMITED) this.take(this.varint());
    else throw new DecodeError(`unsupported protobuf wire type ${wireType}`);
  }

  private expect(wireType: number, wanted: number, what: string): void {
    if (wireType !== wanted)
      throw new DecodeError(`${what} has protobuf wire type ${wireType}, not ${wanted}`);
  }

  /** Advances past `count` bytes, returning where they start. */
  private take(count: number): number {
    if (count > this.bytes.length - this.at) throw new DecodeError('truncated protobuf message');
    const from = this.at;
    this.at += count;
    return from;
  }
}
