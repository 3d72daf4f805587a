import { type ConsumedRecord, toDeadLetter } from '@granary/kafka';
import { schemaErrors } from '@granary/schema';
import { describe, expect, it } from 'vitest';
import { redriveRecordFor } from '../src/dead-letters.ts';

const original: ConsumedRecord = {
  topic: 'granary.samples',
  partition: 5,
  offset: '41',
  key: Buffer.from('resource-1'),
  value: Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]),
  headers: { traceparent: Buffer.from('00-abc-def-01') },
  timestamp: '1767268800000',
};

/** The dead letter of `record` as it sits in the dead-letter topic. */
function asConsumed(record: ConsumedRecord): ConsumedRecord {
  const letter = toDeadLetter(record, schemaErrors('SCHEMA_CORRUPT_RECORD', 'truncated'));
  const headers = Object.fromEntries(
    Object.entries(letter.headers ?? {}).map(([name, value]) => [name, Buffer.from(value)]),
  );
  return {
    ...record,
    topic: letter.topic,
    partition: 0,
    offset: '3',
    key: letter.key as Buffer | null,
    value: letter.value,
    headers,
  };
}

describe('redriving a dead letter', () => {
  it('restores the original record: source topic, key, bytes and own headers, routed by its key', () => {
    expect(redriveRecordFor(asConsumed(original))).toEqual({
      topic: 'granary.samples',
      key: original.key,
      value: original.value,
      headers: { traceparent: Buffer.from('00-abc-def-01') },
    });
  });

  it('sends a keyless record back to its source partition', () => {
    expect(redriveRecordFor(asConsumed({ ...original, key: null })).partition).toBe(5);
  });

  it('sends to --to instead when given, routed by key', () => {
    const redriven = redriveRecordFor(asConsumed({ ...original, key: null }), 'granary.samples.retry');
    expect(redriven.topic).toBe('granary.samples.retry');
    expect(redriven.partition).toBeUndefined();
  });

  it('refuses a record without dead-letter headers unless a target is named', () => {
    expect(() => redriveRecordFor(original)).toThrow(
      expect.objectContaining({ code: 'CLI_NOT_A_DEAD_LETTER' }),
    );
    expect(redriveRecordFor(original, 'elsewhere').topic).toBe('elsewhere');
  });
});
