import { readFileSync } from 'node:fs';
import { PyFloat } from '@granary/python-format';
import { verifySignature } from '@granary/telemetry';
import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { StatsdAggregator, decodeSampleDatagram, parseStatsdDatagram } from '../index.ts';

const text = (value: string) => Buffer.from(value, 'utf8');
/** msgpack float64 1.0, which JavaScript's encoder would write as the integer 1. */
const FLOAT_ONE = [0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0];

describe('decodeSampleDatagram (Ceilometer udp://)', () => {
  it('reads a meter dict, keeping floats apart from integers', () => {
    const datagram = Buffer.concat([
      Buffer.from([0x83, 0xac]),
      text('counter_name'),
      Buffer.from([0xa3]),
      text('cpu'),
      Buffer.from([0xae]),
      text('counter_volume'),
      Buffer.from(FLOAT_ONE),
      Buffer.from([0xa5]),
      text('count'),
      Buffer.from([0x01]),
    ]);
    const meter = decodeSampleDatagram(datagram);
    expect(meter.counter_name).toBe('cpu');
    expect(meter.counter_volume).toEqual(new PyFloat(1));
    expect(meter.count).toBe(1);
    expect(Object.getPrototypeOf(meter)).toBeNull();
  });

  it("verifies a datagram Python's msgpack wrote, signed as Ceilometer signs", () => {
    // Made with msgpack 1.x: msgpack.dumps(msg, use_bin_type=True), msg a meter_message_from_counter
    // dict (volume 1.0, monotonic_time 12345.678, nested metadata with a float, a list, a bool and
    // None) and msg['message_signature'] = compute_signature(msg, 'secret'), that function and
    // recursive_keypairs re-typed from Ceilometer's publisher/utils.py.
    const meter = decodeSampleDatagram(
      readFileSync(new URL('./fixtures/ceilometer-udp-sample.msgpack', import.meta.url)),
    );
    expect(meter.counter_volume).toEqual(new PyFloat(1));
    expect(verifySignature(meter, 'secret')).toBe(true);
    expect(verifySignature(meter, 'another secret')).toBe(false);
  });

  it('refuses what is not a bounded msgpack map, never throwing anything else', () => {
    const protoKey = Buffer.concat([Buffer.from([0x81, 0xa9]), text('__proto__'), Buffer.from([0x01])]);
    const nestedProto = Buffer.concat([
      Buffer.from([0x81, 0xa1]),
      text('m'),
      Buffer.from([0x81, 0xa9]),
      text('__proto__'),
      Buffer.from([0x01]),
    ]);
    // A map announcing 2^32-1 entries, an array announcing 2^32-1 items, a string announcing 4 GiB.
    const hugeMap = Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]);
    const hugeArray = Buffer.concat([
      Buffer.from([0x81, 0xa1]),
      text('a'),
      Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]),
    ]);
    const hugeString = Buffer.from([0x81, 0xa1, 0x61, 0xdb, 0xff, 0xff, 0xff, 0xff]);
    const deep = Buffer.concat([
      Buffer.from([0x81, 0xa1, 0x61]),
      Buffer.alloc(200, 0x91),
      Buffer.from([0x01]),
    ]);
    const bin = Buffer.from([0x81, 0xa1, 0x61, 0xc4, 0x02, 0x00, 0x00]);
    for (const [what, datagram] of [
      ['empty', Buffer.alloc(0)],
      ['truncated', Buffer.from([0x82, 0xa1])],
      ['an array', Buffer.from(encode([1, 2]))],
      ['a number', Buffer.from([0x05])],
      ['__proto__ key', protoKey],
      ['nested __proto__ key', nestedProto],
      ['huge map', hugeMap],
      ['huge array', hugeArray],
      ['huge string', hugeString],
      ['binary', bin],
      ['trailing bytes', Buffer.concat([Buffer.from(encode({ a: 1 })), Buffer.from([0x01])])],
      ['JSON', text('{"counter_name": "cpu"}')],
    ] as const)
      expect(() => decodeSampleDatagram(datagram), what).toThrowError(
        expect.objectContaining({ code: 'UDP_INPUTS_MALFORMED_DATAGRAM' }),
      );
    expect(() => decodeSampleDatagram(deep)).toThrowError(
      expect.objectContaining({ code: 'TELEMETRY_TOO_DEEP' }),
    );
    expect(({} as Record<string, unknown>).a).toBeUndefined();
  });
});

describe('parseStatsdDatagram (Gnocchi statsd)', () => {
  it('reads counters, gauges and timers, several lines per datagram', () => {
    expect(
      parseStatsdDatagram(text('requests:1|c\nrequests:2|c|@0.5\nload:0.75|g\n\nlatency:12.5|ms\n')),
    ).toEqual({
      lines: [
        { name: 'requests', type: 'c', value: 1, sampling: undefined },
        { name: 'requests', type: 'c', value: 2, sampling: 0.5 },
        { name: 'load', type: 'g', value: 0.75, sampling: undefined },
        { name: 'latency', type: 'ms', value: 12.5, sampling: undefined },
      ],
      problems: [],
    });
    expect(parseStatsdDatagram(text('__proto__:1|g\nconstructor:2|c')).lines.map((l) => l.name)).toEqual([
      '__proto__',
      'constructor',
    ]);
    expect(parseStatsdDatagram(text('x:-1e3|g\ny: 7 |g\nz:1_000|c')).lines.map((l) => l.value)).toEqual([
      -1000, 7, 1000,
    ]);
  });

  it('refuses each malformed line with its reason and reads the others', () => {
    const { lines, problems } = parseStatsdDatagram(
      text(
        [
          'ok:1|c',
          'no-type:1',
          'a:b:1|c',
          'x:1|c|@0.5|extra',
          'nan:nan|g',
          'inf:inf|g',
          'word:ten|g',
          'set:1|s',
          'gauge:1|g|@0.5',
          'zero:1|c|@0',
          'rate:1|c|@x',
          ':1|c',
          'a/b:1|c',
          'last:2|g',
        ].join('\n'),
      ),
    );
    expect(lines.map((l) => l.name)).toEqual(['ok', 'last']);
    expect(problems.map((p) => p.problem)).toEqual([
      'fields',
      'fields',
      'fields',
      'value',
      'value',
      'value',
      'type',
      'sampling',
      'sampling',
      'sampling',
      'name',
      'name',
    ]);
    expect(parseStatsdDatagram(Buffer.from([0x61, 0x3a, 0xff, 0x7c, 0x63]))).toEqual({
      lines: [],
      problems: [{ line: '', problem: 'encoding' }],
    });
    const huge = parseStatsdDatagram(text(`${'n'.repeat(60_000)}:1|c|`));
    expect(huge.problems[0]!.line).toHaveLength(200);
  });
});

describe('StatsdAggregator', () => {
  it("flushes Gnocchi's per-interval values: counters summed over their rate, the last gauge and timer", () => {
    const stats = new StatsdAggregator(100);
    for (const [datagram, at] of [
      ['hits:1|c', 1],
      ['hits:2|c|@0.5', 2],
      ['temp:20|g', 3],
      ['temp:21|g', 4],
      ['rt:5|ms', 5],
      ['rt:7|ms', 6],
    ] as const)
      for (const line of parseStatsdDatagram(text(datagram)).lines) expect(stats.add(line, at)).toBe(true);
    expect(stats.flush()).toEqual([
      { metric: 'hits|c', timestamp: 2, value: 5 },
      { metric: 'temp|g', timestamp: 4, value: 21 },
      { metric: 'rt|ms', timestamp: 6, value: 7 },
    ]);
    expect(stats.flush()).toEqual([]);
  });

  it('holds at most maxNames metrics per interval; known ones still update', () => {
    const stats = new StatsdAggregator(2);
    const add = (line: string) => stats.add(parseStatsdDatagram(text(line)).lines[0]!, 1);
    expect([add('a:1|c'), add('b:1|c'), add('c:1|c'), add('a:1|c'), add('a:1|g')]).toEqual([
      true,
      true,
      false,
      true,
      false,
    ]);
    expect(stats.flush().map((m) => [m.metric, m.value])).toEqual([
      ['a|c', 2],
      ['b|c', 1],
    ]);
    expect(add('c:1|c')).toBe(true);
  });
});
