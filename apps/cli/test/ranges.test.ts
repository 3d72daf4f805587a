import { partitionFor } from '@granary/kafka';
import { describe, expect, it } from 'vitest';
import { rangeSize, resolveRanges } from '../src/offset-ranges.ts';
import { parseTimeArgument } from '../src/time-argument.ts';

const bounds = [
  { partition: 0, low: '0', high: '100' },
  { partition: 1, low: '50', high: '80' },
  { partition: 2, low: '0', high: '0' },
];

describe('offset ranges', () => {
  it('is every retained record of every partition by default', () => {
    expect(resolveRanges(bounds, {})).toEqual([
      { partition: 0, start: '0', end: '100' },
      { partition: 1, start: '50', end: '80' },
      { partition: 2, start: '0', end: '0' },
    ]);
  });

  it('intersects offsets, time offsets and partitions; never starts before the log start', () => {
    const ranges = resolveRanges(bounds, {
      partitions: [0, 1],
      startOffset: 10n,
      endOffset: 90n,
      startAtTime: new Map([
        [0, '20'],
        [1, '60'],
      ]),
      endAtTime: new Map([
        [0, '95'],
        [1, '70'],
      ]),
    });
    expect(ranges).toEqual([
      { partition: 0, start: '20', end: '90' },
      { partition: 1, start: '60', end: '70' },
    ]);
    expect(rangeSize(ranges)).toBe(80);
  });

  it('is empty, not inverted, when the bounds exclude everything', () => {
    expect(resolveRanges(bounds, { partitions: [1], startOffset: 90n })).toEqual([
      { partition: 1, start: '90', end: '90' },
    ]);
  });

  it('narrows to the partitions the keys are routed to', () => {
    const key = 'a8f0ac4c-2d8f-4ee8-8b4c-3f7e3e9d1a11';
    expect(resolveRanges(bounds, { keys: [key] }).map((r) => r.partition)).toEqual([partitionFor(key, 3)]);
  });

  it('refuses a partition the topic does not have, as a usage error', () => {
    expect(() => resolveRanges(bounds, { partitions: [3] })).toThrow(
      expect.objectContaining({
        code: 'CLI_USAGE',
        message: expect.stringContaining('partition 3 does not exist'),
      }),
    );
  });
});

describe('time arguments', () => {
  const now = Date.parse('2026-11-21T06:00:00Z');

  it('reads ISO 8601 times, naive ones as UTC', () => {
    expect(parseTimeArgument('since', '2026-11-20T06:00:00Z', now)).toBe(Date.parse('2026-11-20T06:00:00Z'));
    expect(parseTimeArgument('since', '2026-11-20T06:00:00', now)).toBe(Date.parse('2026-11-20T06:00:00Z'));
    expect(parseTimeArgument('since', '2026-11-20T08:00:00+02:00', now)).toBe(
      Date.parse('2026-11-20T06:00:00Z'),
    );
    expect(parseTimeArgument('since', '2026-11-20', now)).toBe(Date.parse('2026-11-20T00:00:00Z'));
    expect(parseTimeArgument('since', '2026-11-20 06:00:00.0019', now)).toBe(
      Date.parse('2026-11-20T06:00:00.001Z'),
    );
  });

  it('reads ISO 8601 durations as that long ago', () => {
    expect(parseTimeArgument('since', 'PT15M', now)).toBe(now - 15 * 60_000);
    expect(parseTimeArgument('since', 'P1DT2H', now)).toBe(now - 26 * 3_600_000);
    expect(parseTimeArgument('since', 'PT0.5S', now)).toBe(now - 500);
  });

  it('refuses anything else as a usage error naming the option', () => {
    for (const text of ['yesterday', '1h', 'P', 'PT', '1767268800', '2026-02-30', '2026-11-20T24:00:00']) {
      expect(() => parseTimeArgument('until', text, now)).toThrow(
        expect.objectContaining({ code: 'CLI_USAGE', message: expect.stringContaining(`--until '${text}'`) }),
      );
    }
  });
});
