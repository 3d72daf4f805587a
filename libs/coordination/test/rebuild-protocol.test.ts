import { describe, expect, it } from 'vitest';
import {
  type RebuildRequest,
  type RebuildStatus,
  encodeRebuildRequest,
  encodeRebuildStatus,
  parseRebuildRequest,
  parseRebuildStatus,
} from '../index.ts';

const METRIC = '5a4b3c2d-0000-4000-8000-000000000001';
const request = (id: string): RebuildRequest => ({
  id,
  topic: 'granary.measures',
  partition: 2,
  metricId: METRIC,
  fromOffset: 10,
});

describe('rebuild messages', () => {
  it('round-trip, with offsets as decimal text', () => {
    const sent = request('e');
    expect(JSON.parse(encodeRebuildRequest(sent)).fromOffset).toBe('10');
    expect(parseRebuildRequest(encodeRebuildRequest(sent))).toEqual(sent);
    const status: RebuildStatus = {
      id: 'e',
      metricId: METRIC,
      partition: 2,
      state: 'done',
      records: 3,
      offset: 99,
    };
    expect(parseRebuildStatus(encodeRebuildStatus(status))).toEqual(status);
  });

  it('refuse what is not one', () => {
    for (const message of [
      '',
      'null',
      '{}',
      '{"id":"x","topic":"t","partition":-1,"metricId":"m","fromOffset":"1"}',
    ]) {
      expect(parseRebuildRequest(message), message).toBeUndefined();
    }
    expect(
      parseRebuildRequest('{"id":"x","topic":"t","partition":1,"metricId":"m","fromOffset":1}'),
    ).toBeUndefined();
    expect(parseRebuildStatus('{"id":"x","metricId":"m","partition":1,"state":"maybe"}')).toBeUndefined();
  });
});
