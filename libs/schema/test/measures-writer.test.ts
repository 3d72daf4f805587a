import type { OutgoingRecord } from '@granary/kafka';
import { describe, expect, it } from 'vitest';
import { type MeasureBatch, measuresWriter } from '../index.ts';

describe('measuresWriter', () => {
  it('produces one MeasureBatch per metric, keyed by metric id, and resolves with the acknowledgement', async () => {
    const sent: OutgoingRecord[] = [];
    let acknowledge: () => void = () => {};
    const producer = {
      send: (records: readonly OutgoingRecord[]) => {
        sent.push(...records);
        return new Promise<void>((resolve) => {
          acknowledge = resolve;
        });
      },
    };
    const serde = { encode: (value: MeasureBatch) => Buffer.from(JSON.stringify(value)) };
    const writer = measuresWriter(producer, serde, 'granary.measures');
    let done = false;
    const writing = writer.write([{ metric_id: 'm1', timestamps: [1, 2], values: [0.5, 1.5] }]).then(() => {
      done = true;
    });
    await Promise.resolve();
    expect(done).toBe(false);
    acknowledge();
    await writing;
    expect(done).toBe(true);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ topic: 'granary.measures', key: 'm1' });
    expect(JSON.parse(String(sent[0]!.value))).toEqual({
      metric_id: 'm1',
      timestamps: [1, 2],
      values: [0.5, 1.5],
    });
  });

  it("splits a metric's batch larger than a record holds into consecutive records, in order", async () => {
    const sends: (readonly OutgoingRecord[])[] = [];
    const producer = { send: async (records: readonly OutgoingRecord[]) => void sends.push(records) };
    const serde = { encode: (value: MeasureBatch) => Buffer.from(JSON.stringify(value)) };
    const writer = measuresWriter(producer, serde, 'granary.measures', 2);
    await writer.write([
      { metric_id: 'm1', timestamps: [1, 2, 3, 4, 5], values: [1, 2, 3, 4, 5] },
      { metric_id: 'm2', timestamps: [], values: [] },
    ]);
    const shown = sends.map((records) =>
      records.map((record) => [record.key, JSON.parse(String(record.value)).timestamps]),
    );
    // Each send within the measure budget (the broker's size limit applies to what travels together).
    expect(shown).toEqual([
      [['m1', [1, 2]]],
      [['m1', [3, 4]]],
      [
        ['m1', [5]],
        ['m2', []],
      ],
    ]);
  });
});
