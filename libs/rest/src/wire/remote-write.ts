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

/** Messages decoded between two turns of the event loop. */
const SERIES_PER_TURN = 2000;

/**
 * The series of a `WriteRequest`, or why it cannot be read. Pure, but it lets the event loop run
 * every few thousand series, so a large body does not hold up other requests.
 */
export async function decodeWriteRequest(bytes: Uint8Array): Promise<RemoteWriteResult> {
  try {
    const reader = new Reader(bytes);
    const timeseries: RemoteTimeSeries[] = [];
    while (!reader.done(bytes.length)) {
      const [field, wireType] = reader.key();
      if (field !== 1) {
        reader.skip(wireType);
        continue;
      }
      timeseries.push(decodeTimeSeries(reader, reader.message(wireType, 'timeseries')));
      if (timeseries.length % SERIES_PER_TURN === 0) await new Promise((next) => setImmediate(next));
    }
    return { timeseries };
  } catch (err) {
    if (err instanceof DecodeError) return { error: err.message };
    throw err;
  }
}

/** Each decoder reads one message, from the cursor to `end` (returned by `Reader.message`). */
function decodeTimeSeries(reader: Reader, end: number): RemoteTimeSeries {
  const series: RemoteTimeSeries = { labels: [], samples: [] };
  while (!reader.done(end)) {
    const [field, wireType] = reader.key();
    if (field === 1) series.labels.push(decodeLabel(reader, reader.message(wireType, 'label')));
    else if (field === 2) series.samples.push(decodeSample(reader, reader.message(wireType, 'sample')));
    else reader.skip(wireType);
  }
  return series;
}

function decodeLabel(reader: Reader, end: number): [string, string] {
  let name = '';
  let value = '';
  while (!reader.done(end)) {
    const [field, wireType] = reader.key();
    if (field === 1) name = reader.string(wireType, 'label name');
    else if (field === 2) value = reader.string(wireType, 'label value');
    else reader.skip(wireType);
  }
  return [name, value];
}

function decodeSample(reader: Reader, end: number): RemoteSample {
  const sample: RemoteSample = { value: 0, timestampMs: 0 };
  while (!reader.done(end)) {
    const [field, wireType] = reader.key();
    if (field === 1) sample.value = reader.double(wireType);
    else if (field === 2) sample.timestampMs = reader.int64(wireType);
    else reader.skip(wireType);
  }
  return sample;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A cursor over the whole body; every read is bounds-checked against the end of the innermost
 * message being read, so a field cannot run past its message.
 */
class Reader {
  private at = 0;
  /** The end of the innermost message being read: no read goes past it. */
  private limit: number;
  /** The limits of the enclosing messages, innermost last. */
  private readonly outer: number[] = [];
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.limit = bytes.length;
  }

  /** True at the end of the message ending at `end` (whose enclosing message then bounds reads). */
  done(end: number): boolean {
    if (this.at < end) return false;
    if (this.limit === end && this.outer.length > 0) this.limit = this.outer.pop()!;
    return true;
  }

  key(): [field: number, wireType: number] {
    const key = this.varint();
    const field = Math.floor(key / 8);
    if (field === 0) throw new DecodeError('invalid protobuf field number 0');
    return [field, key % 8];
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

  double(wireType: number): number {
    this.expect(wireType, FIXED64, 'sample value');
    return this.view.getFloat64(this.take(8), true);
  }

  /** Enters a length-delimited field; returns where it ends, for `done`. */
  message(wireType: number, what: string): number {
    this.expect(wireType, LENGTH_DELIMITED, what);
    const length = this.varint();
    const from = this.take(length);
    this.at = from;
    this.outer.push(this.limit);
    this.limit = from + length;
    return this.limit;
  }

  string(wireType: number, what: string): string {
    this.expect(wireType, LENGTH_DELIMITED, what);
    const length = this.varint();
    const from = this.take(length);
    try {
      return utf8.decode(this.bytes.subarray(from, from + length));
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

  private byte(): number {
    if (this.at >= this.limit) throw new DecodeError('truncated protobuf varint');
    return this.bytes[this.at++]!;
  }

  private expect(wireType: number, wanted: number, what: string): void {
    if (wireType !== wanted)
      throw new DecodeError(`${what} has protobuf wire type ${wireType}, not ${wanted}`);
  }

  /** Advances past `count` bytes of the current message, returning where they start. */
  private take(count: number): number {
    if (count > this.limit - this.at) throw new DecodeError('truncated protobuf message');
    const from = this.at;
    this.at += count;
    return from;
  }
}
