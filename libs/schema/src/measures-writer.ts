import type { OutgoingRecord } from '@granary/kafka';
import type { MeasureBatch } from './generated.ts';
import type { TopicSerde } from './topic-serde.ts';

/**
 * Measures per record, and per send: an Avro measure is at most 19 bytes (a 10-byte long and a
 * double), so a send stays near 600 KB, under the broker's default 1 MB `message.max.bytes` (the
 * producer keeps a send's records in one request, and a partition's records in one batch).
 */
export const MEASURES_PER_RECORD = 32_768;

export interface MeasuresWriter {
  /** Resolves once the broker acknowledged every batch. */
  write(batches: readonly MeasureBatch[]): Promise<void>;
}

/**
 * The one writer of the measures topic (the API, ingest): `MeasureBatch` records in the registry's
 * wire format, keyed by metric id (so a metric's batches keep their order in one partition, the
 * one its processor owns). A larger batch becomes consecutive records of at most
 * `measuresPerRecord` measures, each in a send of its own; small batches share sends. The producer
 * sends in order, so a metric's records keep theirs. `write` resolves when the broker acknowledged
 * all of them; if one send fails, the others may have been written (measures are idempotent per
 * timestamp only in their last value, as in Gnocchi when a client retries).
 */
export function measuresWriter(
  producer: { send(records: readonly OutgoingRecord[]): Promise<void> },
  serde: Pick<TopicSerde<MeasureBatch>, 'encode'>,
  topic: string,
  measuresPerRecord = MEASURES_PER_RECORD,
): MeasuresWriter {
  return {
    write: async (batches) => {
      const sends: OutgoingRecord[][] = [];
      let current: OutgoingRecord[] = [];
      let measures = 0;
      for (const batch of batches) {
        for (let from = 0; from === 0 || from < batch.timestamps.length; from += measuresPerRecord) {
          const to = Math.min(from + measuresPerRecord, batch.timestamps.length);
          if (current.length > 0 && measures + (to - from) > measuresPerRecord) {
            sends.push(current);
            current = [];
            measures = 0;
          }
          current.push({
            topic,
            key: batch.metric_id,
            value: serde.encode({
              metric_id: batch.metric_id,
              timestamps: batch.timestamps.slice(from, to),
              values: batch.values.slice(from, to),
            }),
          });
          measures += to - from;
        }
      }
      if (current.length > 0) sends.push(current);
      await Promise.all(sends.map((records) => producer.send(records)));
    },
  };
}
