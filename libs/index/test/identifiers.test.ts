import { describe, expect, it } from 'vitest';
import { parseTimespanSeconds, parseTimestamp, parseUuid, resourceUuid, uuid5 } from '../index.ts';
import { fnmatch } from '../src/fnmatch.ts';

describe('resource ids (Gnocchi ResourceUUID)', () => {
  it('keeps UUIDs in any of Python uuid.UUID spellings, canonicalised', () => {
    const canonical = '75c44741-cc60-4033-804e-2d3098c7d2e9';
    for (const spelling of [
      '75C44741-CC60-4033-804E-2D3098C7D2E9',
      '75c44741cc604033804e2d3098c7d2e9',
      '{75c44741-cc60-4033-804e-2d3098c7d2e9}',
      'urn:uuid:75c44741-cc60-4033-804e-2d3098c7d2e9',
    ]) {
      expect(resourceUuid(spelling, 'foobar')).toBe(canonical);
    }
  });

  it('maps other ids to uuid5(namespace, id + NUL + creator), as Python computes it', () => {
    // Expected values from Python: uuid.uuid5(UUID('0a7a15ff-…'), 'compute-1\x00foo:bar') etc.
    expect(resourceUuid('compute-1', 'foo:bar')).toBe('bf1d40db-9303-59af-9645-219d53289143');
    expect(resourceUuid('f93450f2-yyyy-4d67-9985-02511241e7d1', 'foobar')).toBe(
      '0b7da0c0-d98e-5c6b-913f-e2468555ec05',
    );
    expect(resourceUuid('ébène☃', null)).toBe('01d9b5cf-cb9f-52f1-93a9-f40be08ac8af');
  });

  it("refuses '/' and over-long transformable ids", () => {
    expect(resourceUuid('a/b', 'x')).toBe("'/' is not supported in resource id");
    expect(resourceUuid('x'.repeat(290), 'x')).toBe('transformable resource id >289 max allowed characters');
    expect(parseUuid('not-a-uuid')).toBeUndefined();
    expect(uuid5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org')).toBe(
      '886313e1-3b8a-5372-9b90-0c9aee199e5d',
    );
  });
});

describe('timestamps and timespans', () => {
  it('parses ISO 8601 (naive = UTC) and epoch seconds to epoch µs', () => {
    expect(parseTimestamp('2014-01-03T02:02:02.000000')).toBe(Date.UTC(2014, 0, 3, 2, 2, 2) * 1000);
    expect(parseTimestamp('2017-05-02T11:11:11Z')).toBe(Date.UTC(2017, 4, 2, 11, 11, 11) * 1000);
    expect(parseTimestamp('2017-05-02T13:11:11.123456+02:00')).toBe(
      Date.UTC(2017, 4, 2, 11, 11, 11) * 1000 + 123456,
    );
    expect(parseTimestamp('2014-08-04')).toBe(Date.UTC(2014, 7, 4) * 1000);
    expect(parseTimestamp(1388714522.0)).toBe(1388714522000000);
    expect(parseTimestamp('1388714522.5')).toBe(1388714522500000);
  });

  it('reads "now" and relative times against the clock', () => {
    const before = Date.now() * 1000;
    const fiveMinutesAgo = parseTimestamp('-5 minutes')!;
    expect(fiveMinutesAgo).toBeGreaterThanOrEqual(before - 300_000_000);
    expect(fiveMinutesAgo).toBeLessThanOrEqual(Date.now() * 1000 - 300_000_000);
    expect(parseTimestamp('now')).toBeGreaterThanOrEqual(before);
    expect(parseTimestamp('-5 shenanigans')).toBeUndefined();
  });

  it('refuses impossible dates and unparseable text', () => {
    for (const bad of ['2014-02-30', '2014-13-01', 'yesterday', '', '2014-01-01T25:00:00', 1e300]) {
      expect(parseTimestamp(bad), String(bad)).toBeUndefined();
    }
  });

  it('reads timespans as seconds', () => {
    expect(parseTimespanSeconds('30 min')).toBe(1800);
    expect(parseTimespanSeconds('1 hour 30 minutes')).toBe(5400);
    expect(parseTimespanSeconds('0:01:01')).toBe(61);
    expect(parseTimespanSeconds(42)).toBe(42);
    expect(parseTimespanSeconds('1 shenanigan')).toBeUndefined();
  });
});

describe('fnmatch (archive policy rules)', () => {
  it('matches like Python fnmatch.fnmatchcase', () => {
    expect(fnmatch('disk.io.rate', 'disk.io.*')).toBe(true);
    expect(fnmatch('disk_io', 'disk.*')).toBe(false);
    expect(fnmatch('', '*')).toBe(true);
    expect(fnmatch('cpu1', 'cpu[0-9]')).toBe(true);
    expect(fnmatch('cpux', 'cpu[!0-9]')).toBe(true);
    expect(fnmatch('cpu?', 'cpu[?]')).toBe(true);
    expect(fnmatch('a+b', 'a+b')).toBe(true);
    expect(fnmatch('CPU', 'cpu')).toBe(false);
    expect(fnmatch('x[', 'x[')).toBe(true);
  });
});
