import { type Series, snappyLiteral, writeRequest } from '@granary/testing/wire-encoders';
import { describe, expect, it } from 'vitest';
import { parseLineProtocol, precisionNanos } from '../src/wire/line-protocol.ts';
import { decodeWriteRequest } from '../src/wire/remote-write.ts';
import { snappyUncompress } from '../src/wire/snappy.ts';

const NS = precisionNanos(undefined)!;
const parse = (text: string, unit = NS) => parseLineProtocol(Buffer.from(text), unit);
const points = async (text: string, unit = NS) => {
  const result = await parse(text, unit);
  if ('error' in result) throw new Error(`line ${result.line}: ${result.error}`);
  return result.points;
};

describe('line protocol', () => {
  it("reads Gnocchi's test lines: tags, integer and float fields, nanosecond timestamps", async () => {
    const [first, second] = await points(
      'mymetric,host=foobar,mytag=myvalue field=123 1510581804179554816\ncpu,path=/foobar,mytag=myvalue field=43i 1510581804179554816',
    );
    expect(first).toEqual({
      line: 1,
      measurement: 'mymetric',
      tags: new Map([
        ['host', 'foobar'],
        ['mytag', 'myvalue'],
      ]),
      fields: new Map([['field', 123]]),
      timestamp: 1510581804179554,
    });
    expect(second?.line).toBe(2);
    expect(second?.tags.get('path')).toBe('/foobar');
    expect(second?.fields.get('field')).toBe(43);
  });

  it('unescapes names and values as Gnocchi: \\ , = escaped, other backslashes kept, quoted tokens', async () => {
    const [point] = await points(
      'we\\ ird\\,m,t\\=k=v\\ 1,back=sl\\ash,"quoted tag"="a b=c" f\\ 1=1,s="x \\"y\\"",b=true',
    );
    expect(point?.measurement).toBe('we ird,m');
    expect([...point!.tags]).toEqual([
      ['t=k', 'v 1'],
      ['back', 'sl\\ash'],
      ['quoted tag', 'a b=c'],
    ]);
    expect([...point!.fields]).toEqual([
      ['f 1', 1],
      ['s', 'x "y"'],
      ['b', true],
    ]);
    expect(point?.timestamp).toBeNull();
  });

  it('reads every numeric form: signed integers, unsigned, floats with exponents', async () => {
    const [point] = await points('m a=-5i,b=7u,c=-1.5e3,d=.25,e=+3,f=1E-2');
    expect([...point!.fields.values()]).toEqual([-5, 7, -1500, 0.25, 3, 0.01]);
  });

  it('keeps the last of a repeated tag or field, as a dict does', async () => {
    const [point] = await points('m,a=1,a=2 f=1,f=2');
    expect(point?.tags.get('a')).toBe('2');
    expect(point?.fields.get('f')).toBe(2);
  });

  it('takes timestamps in the precision asked for, truncated to microseconds', async () => {
    const at = async (precision: string, stamp: string) =>
      (await points(`m f=1 ${stamp}`, precisionNanos(precision)!))[0]?.timestamp;
    expect(await at('ns', '1510581804179554816')).toBe(1510581804179554);
    expect(await at('n', '1999')).toBe(1);
    expect(await at('u', '1510581804179554')).toBe(1510581804179554);
    expect(await at('ms', '1510581804179')).toBe(1510581804179000);
    expect(await at('s', '1510581804')).toBe(1510581804000000);
    expect(await at('m', '2')).toBe(120_000_000);
    expect(await at('h', '1')).toBe(3_600_000_000);
    expect(precisionNanos('fortnight')).toBeUndefined();
  });

  it('skips empty and comment lines, accepts CRLF and trailing blanks, and numbers lines from 1', async () => {
    const read = await points('\n# a comment\r\nm f=1 5000\r\n   \nm f=2  \n');
    expect(read.map((p) => [p.line, p.fields.get('f'), p.timestamp])).toEqual([
      [3, 1, 5],
      [5, 2, null],
    ]);
  });

  it.each([
    ['m f=1\nm,t f=1', 2, "expected '=' after the tag key at column 4 (' ')"],
    ['m', 1, "expected ' ' before the fields at the end of the line"],
    ['m f=abc', 1, 'expected a field value (number, "string" or boolean) at column 5 (\'a\')'],
    ['m f=1 12:00', 1, "expected an integer timestamp at column 7 ('1')"],
    ['m f=1 12 junk', 1, "unexpected character at column 10 ('j')"],
    ['m f="open', 1, "unterminated quoted field value at column 5 ('\"')"],
    ['m,=v f=1', 1, "expected a tag key at column 3 ('=')"],
    ['m f=1e400', 1, "field value out of range at column 5 ('1')"],
    ['m f=1 -1000', 1, 'timestamp before the epoch'],
    ['m f=1 99999999999999999999999', 1, 'timestamp too far in the future'],
    ['m f\0=1 1', 1, 'NUL characters are not accepted'],
  ])('says which line and where it could not read %j', async (text, line, error) => {
    expect(await parse(text)).toEqual({ line, error });
  });

  it('names the line that is not UTF-8', async () => {
    expect(await parseLineProtocol(Uint8Array.from([0x6d, 0x20, 0x66, 0x3d, 0x31, 0x0a, 0xff]), NS)).toEqual({
      line: 2,
      error: 'not valid UTF-8',
    });
  });

  it('keeps hostile names as plain data (Maps, no prototype involved)', async () => {
    const [point] = await points('__proto__,constructor=__proto__,toString=x __proto__=1,hasOwnProperty=2');
    expect(point?.measurement).toBe('__proto__');
    expect([...point!.tags]).toEqual([
      ['constructor', '__proto__'],
      ['toString', 'x'],
    ]);
    expect([...point!.fields]).toEqual([
      ['__proto__', 1],
      ['hasOwnProperty', 2],
    ]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('snappy', () => {
  it('decodes literals and every copy form, overlapping runs included', async () => {
    // "abc" + copy(offset 3, length 9) with a 1-byte offset.
    expect(text(snappyUncompress(Uint8Array.from([12, 0x08, 0x61, 0x62, 0x63, 0x15, 0x03]), 100))).toBe(
      'abcabcabcabc',
    );
    // "ab" + copy(offset 2, length 6) with a 2-byte offset, then "!" + copy(offset 9, length 3) with 4 bytes.
    const input = [
      12,
      0x04,
      0x61,
      0x62,
      ((6 - 1) << 2) | 2,
      2,
      0,
      0x00,
      0x21,
      ((3 - 1) << 2) | 3,
      9,
      0,
      0,
      0,
    ];
    expect(text(snappyUncompress(Uint8Array.from(input), 100))).toBe('abababab!aba');
  });

  it('decodes long literals (length in 1 to 4 extra bytes)', async () => {
    const payload = Buffer.alloc(70_000, 'x');
    expect(text(snappyUncompress(snappyLiteral(payload), 100_000))).toBe(payload.toString());
    const short = Buffer.alloc(100, 'y');
    expect(text(snappyUncompress(snappyLiteral(short), 1000))).toBe(short.toString());
    // Lengths in 3 and 4 bytes (tags 62 and 63), as other encoders may write short literals.
    const hello = [0x68, 0x65, 0x6c, 0x6c, 0x6f];
    expect(text(snappyUncompress(Uint8Array.from([5, 62 << 2, 4, 0, 0, ...hello]), 10))).toBe('hello');
    expect(text(snappyUncompress(Uint8Array.from([5, 63 << 2, 4, 0, 0, 0, ...hello]), 10))).toBe('hello');
  });

  it('refuses a declared length over the limit before allocating, and every malformed stream', async () => {
    // Declares 4 GiB - 1.
    expect(snappyUncompress(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]), 1 << 20)).toMatchObject({
      tooLarge: true,
    });
    const bad = (bytes: number[]) => snappyUncompress(Uint8Array.from(bytes), 100);
    expect(bad([])).toEqual({ error: 'invalid snappy length header' });
    expect(bad([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).toEqual({ error: 'invalid snappy length header' });
    expect(bad([5, 0x08, 0x61])).toEqual({ error: 'truncated snappy literal' });
    expect(bad([3, 0xf0, 0x61])).toEqual({ error: 'truncated snappy literal' });
    expect(bad([1, 0x08, 0x61, 0x62, 0x63])).toEqual({ error: 'snappy data longer than its header says' });
    expect(bad([8, 0x00, 0x61, 0x15, 0x02])).toEqual({ error: 'snappy copy refers outside the data' });
    expect(bad([8, 0x00, 0x61, 0x15, 0x00])).toEqual({ error: 'snappy copy refers outside the data' });
    expect(bad([8, 0x00, 0x61, 0x15])).toEqual({ error: 'truncated snappy copy' });
    expect(bad([4, 0x00, 0x61, 0x15, 0x01])).toEqual({ error: 'snappy data longer than its header says' });
    expect(bad([9, 0x00, 0x61])).toEqual({ error: 'snappy data shorter than its header says' });
  });
});

describe('remote write protobuf', () => {
  const series: Series[] = [
    {
      labels: [
        ['__name__', 'up'],
        ['job', 'prometheus'],
        ['instance', 'localhost:9090'],
      ],
      samples: [
        { value: 1, timestampMs: 1506146578352 },
        { value: Number.NaN, timestampMs: 1506146583352 },
      ],
    },
    { labels: [['__name__', '__proto__']], samples: [] },
  ];

  it('decodes timeseries, labels in order, samples (NaN kept) and skips unknown fields', async () => {
    const decoded = await decodeWriteRequest(writeRequest(series, { unknownFields: true }));
    expect(decoded).toEqual({ timeseries: series });
  });

  it('reads negative int64 timestamps (10-byte varints) so the caller can refuse them', async () => {
    const decoded = await decodeWriteRequest(
      writeRequest([{ labels: [], samples: [{ value: 2, timestampMs: -1000 }] }]),
    );
    expect(decoded).toMatchObject({ timeseries: [{ samples: [{ timestampMs: -1000 }] }] });
    const huge = (await decodeWriteRequest(
      writeRequest([{ labels: [], samples: [{ value: 2, timestampMs: 2 ** 62 + 1 }] }]),
    )) as { timeseries: { samples: { timestampMs: number }[] }[] };
    expect(Number.isSafeInteger(huge.timeseries[0]?.samples[0]?.timestampMs)).toBe(false);
  });

  it('refuses truncation, wrong wire types, groups and invalid UTF-8', async () => {
    const good = writeRequest(series);
    expect(await decodeWriteRequest(good.subarray(0, good.length - 3))).toEqual({
      error: 'truncated protobuf message',
    });
    // Field 1 as a varint.
    expect(await decodeWriteRequest(Uint8Array.from([0x08, 0x01]))).toEqual({
      error: 'timeseries has protobuf wire type 0, not 2',
    });
    // Field 2 as a start-group.
    expect(await decodeWriteRequest(Uint8Array.from([0x13]))).toEqual({
      error: 'unsupported protobuf wire type 3',
    });
    expect(await decodeWriteRequest(Uint8Array.from([0x00]))).toEqual({
      error: 'invalid protobuf field number 0',
    });
    expect(await decodeWriteRequest(Uint8Array.from([0x0a, 0x80]))).toEqual({
      error: 'truncated protobuf varint',
    });
    // timeseries { label { name: "\xff" } }
    expect(await decodeWriteRequest(Uint8Array.from([0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0xff]))).toEqual({
      error: 'label name is not valid UTF-8',
    });
    expect(await decodeWriteRequest(Uint8Array.from(Array(11).fill(0xff)))).toEqual({
      error: 'protobuf varint longer than 10 bytes',
    });
  });
});

function text(result: ReturnType<typeof snappyUncompress>): string {
  if ('error' in result) throw new Error(result.error);
  return Buffer.from(result.bytes).toString();
}
