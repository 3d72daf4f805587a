/**
 * Test-side encoders for Prometheus remote write: a protobuf `WriteRequest` writer and snappy
 * "compression" as literals only (valid snappy that any decoder must read), so tests build
 * payloads from readable data instead of opaque dumps.
 */

export interface Series {
  labels: [string, string][];
  samples: { value: number; timestampMs: number }[];
}

function varint(value: number | bigint): number[] {
  let rest = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    out.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return out;
}

const key = (field: number, wireType: number) => varint(field * 8 + wireType);
const delimited = (field: number, bytes: number[]) => [...key(field, 2), ...varint(bytes.length), ...bytes];
const utf8 = (text: string) => [...Buffer.from(text, 'utf8')];

/**
 * The `WriteRequest` of `series`; `unknownFields` adds fields a newer sender might (a varint, a
 * fixed32, a fixed64 and a nested message), which a decoder must skip.
 */
export function writeRequest(series: Series[], options: { unknownFields?: boolean } = {}): Uint8Array {
  const unknown = options.unknownFields
    ? [
        ...key(9, 0),
        150,
        1,
        ...key(10, 5),
        1,
        2,
        3,
        4,
        ...key(11, 1),
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        ...delimited(12, [8, 1]),
      ]
    : [];
  const bytes = series.flatMap((one) => {
    const labels = one.labels.flatMap(([name, value]) =>
      delimited(1, [...delimited(1, utf8(name)), ...delimited(2, utf8(value)), ...unknown]),
    );
    const samples = one.samples.flatMap((sample) => {
      const value = Buffer.alloc(8);
      value.writeDoubleLE(sample.value);
      return delimited(2, [...key(1, 1), ...value, ...key(2, 0), ...varint(sample.timestampMs), ...unknown]);
    });
    return delimited(1, [...labels, ...unknown, ...samples]);
  });
  return Uint8Array.from([...unknown, ...bytes]);
}

/** `data` as one snappy block of literals (chunks of at most 65536 bytes). */
export function snappyLiteral(data: Uint8Array): Uint8Array {
  const out: number[] = [...varint(data.length)];
  for (let from = 0; from < data.length; from += 65_536) {
    const chunk = data.subarray(from, from + 65_536);
    const length = chunk.length - 1;
    if (length < 60) out.push(length << 2);
    else if (length < 256) out.push(60 << 2, length);
    else out.push(61 << 2, length & 0xff, length >> 8);
    out.push(...chunk);
  }
  return Uint8Array.from(out);
}
