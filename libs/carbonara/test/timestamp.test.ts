import { describe, expect, it } from 'vitest';
import { parseIsoTimestamp, parseTimespan, parseTimestamp, readTimestamp } from '../index.ts';

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5) * 1000;

describe('timespans as Gnocchi accepts them', () => {
  it.each([
    [10, 10],
    ['10', 10],
    ['1 second', 1],
    ['7s', 7],
    ['1 minute', 60],
    ['2 hour', 7200],
    ['1h30m', 5400],
    ['0:01:01', 61],
    ['1.5 hours', 5400],
    ['1 day', 86400],
  ])('%s is %d s', (text, seconds) => {
    expect(parseTimespan(text)).toEqual({ seconds });
  });

  it('refuses text it cannot read and non-positive spans', () => {
    expect(parseTimespan('1 shenanigan')).toEqual({ error: 'Unable to parse timespan' });
    expect(parseTimespan(true)).toEqual({ error: 'Unable to parse timespan' });
    expect(parseTimespan(0)).toEqual({ error: 'Timespan must be positive' });
    expect(parseTimespan('-5 minutes', true)).toEqual({ seconds: -300 });
  });
});

describe('timestamps as Gnocchi accepts them', () => {
  it.each([
    ['2014-01-03T02:02:02.000000', Date.UTC(2014, 0, 3, 2, 2, 2) * 1000],
    ['2017-05-02T11:11:11Z', Date.UTC(2017, 4, 2, 11, 11, 11) * 1000],
    ['2013-01-01 23:23:20', Date.UTC(2013, 0, 1, 23, 23, 20) * 1000],
    ['2015-03-06T14:33:57+01:00', Date.UTC(2015, 2, 6, 13, 33, 57) * 1000],
    ['2014-08-04', Date.UTC(2014, 7, 4) * 1000],
    [1388714522.5, 1388714522_500_000],
    ['1425652437', 1425652437_000_000],
    ['-5 minutes', NOW - 300_000_000],
    ['+1 hour', NOW + 3_600_000_000],
  ])('%s', (input, micros) => {
    expect(parseTimestamp(input, NOW)).toEqual({ micros });
  });

  it('refuses dates before the epoch, impossible dates and garbage with Gnocchi texts', () => {
    expect(parseTimestamp('1915-03-06T14:33:57', NOW)).toEqual({ error: 'Timestamp must be after Epoch' });
    // Years 0001-0099 are those years (Date.UTC would read 0099 as 1999).
    expect(parseTimestamp('0099-06-01T00:00:00Z', NOW)).toEqual({ error: 'Timestamp must be after Epoch' });
    expect(parseTimestamp('1915-100-06T14:33:57', NOW)).toMatchObject({
      error: expect.stringMatching(/^Unable/),
    });
    expect(parseTimestamp('2015-02-30', NOW)).toMatchObject({ error: expect.stringMatching(/^Unable/) });
    expect(parseTimestamp('2300-01-01', NOW)).toMatchObject({ error: expect.stringMatching(/future/) });
    expect(parseTimestamp(Number.POSITIVE_INFINITY, NOW)).toMatchObject({ error: expect.any(String) });
    expect(parseTimestamp(1e15, NOW)).toMatchObject({ error: expect.stringMatching(/future/) });
  });
});

describe('the same forms without the range checks', () => {
  it('reads instants before the epoch (a filter may name them) and nothing else', () => {
    expect(readTimestamp('1950-01-01T00:00:00Z', NOW)).toBe(Date.UTC(1950, 0, 1) * 1000);
    expect(readTimestamp('NOW', NOW)).toBe(NOW);
    expect(readTimestamp('-5 shenanigans', NOW)).toBeUndefined();
    expect(readTimestamp(Number.NaN, NOW)).toBeUndefined();
  });

  it('reads ISO 8601 as Python does, Ceilometer forms included', () => {
    const noon = Date.UTC(2026, 0, 1, 12) * 1000;
    expect(parseIsoTimestamp('2026-01-01 12:00:00.123456')).toBe(noon + 123_456);
    expect(parseIsoTimestamp('2026-01-01T13:30:00+01:30')).toBe(noon);
    expect(parseIsoTimestamp('2026-01-01T12:00:00,5Z')).toBe(noon + 500_000);
    expect(parseIsoTimestamp('2026-02-30T12:00:00')).toBeUndefined();
    expect(parseIsoTimestamp('2026-01-01T12:00:60')).toBeUndefined();
  });
});
