import { describe, expect, it } from 'vitest';
import {
  type MemberStatus,
  STATUS_FORMAT_VERSION,
  codeCounts,
  encodeMemberStatus,
  memberStatusKey,
  parseMemberStatus,
} from '../index.ts';

const status: MemberStatus = {
  service: 'processor',
  member: 'host-a 4242',
  at: 1_760_000_000_000,
  deadLetters: [
    { code: 'PROCESSING_METRIC_UNKNOWN', count: 2 },
    { code: 'SCHEMA_UNREADABLE', count: 1 },
  ],
  droppedTooOld: 7,
  rebuilds: [
    {
      metricId: '5a4b3c2d-0000-4000-8000-000000000001',
      partition: 3,
      phase: 'accepted',
      since: 1_759_999_990_000,
    },
  ],
};

describe('member status records', () => {
  it('round-trip, carrying the format version', () => {
    const encoded = encodeMemberStatus(status);
    expect(JSON.parse(encoded).v).toBe(STATUS_FORMAT_VERSION);
    expect(parseMemberStatus(encoded)).toEqual(status);
  });

  it('are keyed by measures topic, service and member', () => {
    expect(memberStatusKey('granary.measures', 'ingest', 'h 1')).toBe(
      'granary:status:granary.measures:ingest:h 1',
    );
  });

  it('refuse another version, or malformed fields', () => {
    const fields = JSON.parse(encodeMemberStatus(status));
    const variant = (change: Record<string, unknown>) => JSON.stringify({ ...fields, ...change });
    expect(parseMemberStatus(variant({ v: STATUS_FORMAT_VERSION + 1 }))).toBeUndefined();
    expect(parseMemberStatus(variant({ v: undefined }))).toBeUndefined();
    expect(parseMemberStatus(variant({ service: 'api' }))).toBeUndefined();
    expect(parseMemberStatus(variant({ droppedTooOld: -1 }))).toBeUndefined();
    expect(parseMemberStatus(variant({ deadLetters: { CODE: 1 } }))).toBeUndefined();
    expect(parseMemberStatus(variant({ deadLetters: [{ code: 'X', count: '1' }] }))).toBeUndefined();
    expect(
      parseMemberStatus(variant({ rebuilds: [{ ...status.rebuilds[0], phase: 'done' }] })),
    ).toBeUndefined();
    expect(parseMemberStatus('not json')).toBeUndefined();
    expect(parseMemberStatus('[]')).toBeUndefined();
  });

  it("lists a by-code counter's readings sorted by code", () => {
    const readings = [
      { labels: { code: 'B' }, value: 2 },
      { labels: { code: 'A' }, value: 3 },
    ];
    expect(codeCounts(readings)).toEqual([
      { code: 'A', count: 3 },
      { code: 'B', count: 2 },
    ]);
  });
});
