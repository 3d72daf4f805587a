import type { BatchingProducer } from '@granary/kafka';
import type { MeasureBatch as MeasureBatchRecord, TopicSerde } from '@granary/schema';
import type { MeasureWriter } from './ports.ts';

/**
 * Measure writes as `MeasureBatch` records keyed by metric id (so a metric's batches keep their
 * order in one partition); `write` resolves when the broker acknowledged all of them.
 */
export function kafkaMeasureWriter(
  producer: Pick<BatchingProducer, 'send'>,
  serde: Pick<TopicSerde<MeasureBatchRecord>, 'encode'>,
  topic: string,
): MeasureWriter {
  return {
    write: (batches) =>
      producer.send(
        batches.map((batch) => ({
          topic,
          key: batch.metricId,
          value: serde.encode({
            metric_id: batch.metricId,
            timestamps: batch.timestamps,
            values: batch.values,
          }),
        })),
      ),
  };
}
