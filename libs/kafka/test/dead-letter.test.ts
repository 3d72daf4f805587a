import { defineErrors } from '@granary/errors';
import { describe, expect, it } from 'vitest';
import {
  type ConsumedRecord,
  DEAD_LETTER_HEADERS,
  type OutgoingRecord,
  type RecordBatch,
  handleEachRecord,
  readDeadLetter,
  toDeadLetter,
} from '../index.ts';

const testErrors = defineErrors({
  TEST_BAD_RECORD: { message: 'Bad record', status: 400, retriable: false },
  TEST_FLAKY: { message: 'Flaky dependency', status: 503, retriable: true },
});

const consumed = (offset: number, value = `v${offset}`): ConsumedRecord => ({
  topic: 'granary.samples',
  partition: 7,
  offset: String(offset),
  key: Buffer.from('resource-1'),
  value: Buffer.from(value),
  headers: { traceparent: Buffer.from('00-abc') },
  timestamp: '1767268800000',
});

const batchOf = (...records: ConsumedRecord[]): RecordBatch => ({
  topic: 'granary.samples',
  partition: 7,
  records,
  highWatermark: '100',
});

const toConsumed = (letter: OutgoingRecord): Pick<ConsumedRecord, 'headers'> => ({
  headers: Object.fromEntries(Object.entries(letter.headers ?? {}).map(([k, v]) => [k, Buffer.from(v)])),
});

describe('dead letters', () => {
  it('keep the original key, bytes and headers, and add code, message and origin', () => {
    const letter = toDeadLetter(consumed(42), testErrors('TEST_BAD_RECORD', 'no resource_id'));
    expect(letter.topic).toBe('granary.samples.dlq');
    expect(letter.key).toEqual(Buffer.from('resource-1'));
    expect(letter.value).toEqual(Buffer.from('v42'));
    expect(letter.headers?.traceparent).toEqual(Buffer.from('00-abc'));
    expect(readDeadLetter(toConsumed(letter))).toEqual({
      errorCode: 'TEST_BAD_RECORD',
      errorMessage: 'Bad record: no resource_id',
      sourceTopic: 'granary.samples',
      sourcePartition: 7,
      sourceOffset: '42',
    });
  });

  it('give uncoded errors the KAFKA_HANDLER_FAILED code', () => {
    const letter = toDeadLetter(consumed(1), new TypeError('x is undefined'), 'elsewhere');
    expect(letter.topic).toBe('elsewhere');
    expect(letter.headers?.[DEAD_LETTER_HEADERS.errorCode]).toBe('KAFKA_HANDLER_FAILED');
  });

  it('handleEachRecord retries retriable failures, dead-letters the others and goes on', async () => {
    const sent: OutgoingRecord[] = [];
    const handled: string[] = [];
    let flakyAttempts = 0;
    const outcome = await handleEachRecord(
      batchOf(consumed(1), consumed(2, 'poison'), consumed(3, 'flaky'), consumed(4)),
      async (record) => {
        const value = record.value!.toString();
        if (value === 'poison') throw testErrors('TEST_BAD_RECORD', 'poison');
        if (value === 'flaky' && flakyAttempts++ < 2) throw testErrors('TEST_FLAKY');
        handled.push(record.offset);
      },
      { send: async (records) => void sent.push(...records) },
      { backoff: { initialDelayMs: 1, maxDelayMs: 1 } },
    );
    expect(outcome).toEqual({ handled: 3, deadLettered: 1 });
    expect(handled).toEqual(['1', '3', '4']);
    expect(sent.map((l) => readDeadLetter(toConsumed(l))?.sourceOffset)).toEqual(['2']);
  });

  it('handleEachRecord gives up on a record that stays retriable, so the batch is not committed', async () => {
    const sent: OutgoingRecord[] = [];
    await expect(
      handleEachRecord(
        batchOf(consumed(1)),
        async () => {
          throw testErrors('TEST_FLAKY');
        },
        { send: async (records) => void sent.push(...records) },
        { backoff: { retries: 2, initialDelayMs: 1, maxDelayMs: 1 } },
      ),
    ).rejects.toMatchObject({ code: 'TEST_FLAKY' });
    expect(sent).toEqual([]);
  });
});
