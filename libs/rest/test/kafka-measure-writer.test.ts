import type { OutgoingRecord } from '@granary/kafka';
import type { MeasureBatch } from '@granary/schema';
import { describe, expect, it } from 'vitest';
import { kafkaMeasureWriter } from '../index.ts';

describe('kafkaMeasureWriter', () => {
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
    const writer = kafkaMeasureWriter(producer, serde, 'granary.measures');
    let done = false;
    const writing = writer.write([{ metricId: 'm1', timestamps: [1, 2], values: [0.5, 1.5] }]).then(() => {
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
});
