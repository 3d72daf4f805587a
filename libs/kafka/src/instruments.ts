import { type Counter, type Histogram, type Instruments, timedOutcome } from '@granary/observability';
import type { BatchConsumer, BatchHandler, RecordSender } from './ports.ts';
import type { OutgoingRecord } from './records.ts';

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Key and value bytes of a record (headers and framing left out). */
const payloadBytes = (record: OutgoingRecord): number =>
  (typeof record.key === 'string' ? Buffer.byteLength(record.key) : (record.key?.length ?? 0)) +
  (record.value?.length ?? 0);

/**
 * A Kafka client's metrics, at its ports: every produce request a sender makes (a retry is a
 * request of its own) and every batch handed to a consumer's handler (each attempt), by topic
 * (the configured topics, a fixed set) and outcome (`ok`, the error code, or `unexpected`).
 */
export class KafkaInstruments {
  private readonly produceRequests: Counter<'outcome'>;
  private readonly produceDurations: Histogram<'outcome'>;
  private readonly producedRecords: Counter<'topic'>;
  private readonly producedBytes: Counter<'topic'>;
  private readonly batches: Counter<'topic' | 'outcome'>;
  private readonly batchDurations: Histogram<'topic' | 'outcome'>;
  private readonly consumedRecords: Counter<'topic'>;

  constructor(instruments: Instruments) {
    this.produceRequests = instruments.counter({
      name: 'granary_kafka_produce_requests_total',
      help: 'Produce requests (acks=all), each retry one more, by outcome (ok or the error code)',
      labelNames: ['outcome'],
    });
    this.produceDurations = instruments.histogram({
      name: 'granary_kafka_produce_request_duration_seconds',
      help: 'Produce requests from send to acknowledgement by every in-sync replica, by outcome',
      labelNames: ['outcome'],
      buckets: DURATION_BUCKETS,
    });
    this.producedRecords = instruments.counter({
      name: 'granary_kafka_produced_records_total',
      help: 'Records acknowledged by the brokers, by topic',
      labelNames: ['topic'],
    });
    this.producedBytes = instruments.counter({
      name: 'granary_kafka_produced_bytes_total',
      help: 'Key and value bytes of the records acknowledged, by topic',
      labelNames: ['topic'],
    });
    this.batches = instruments.counter({
      name: 'granary_kafka_consumed_batches_total',
      help: "Batches handed to a consumer's handler (each retry one more), by topic and outcome (ok or the error code)",
      labelNames: ['topic', 'outcome'],
    });
    this.batchDurations = instruments.histogram({
      name: 'granary_kafka_batch_handling_duration_seconds',
      help: "A consumer handler's time on one batch, by topic and outcome",
      labelNames: ['topic', 'outcome'],
      buckets: DURATION_BUCKETS,
    });
    this.consumedRecords = instruments.counter({
      name: 'granary_kafka_consumed_records_total',
      help: 'Records of the batches a handler finished, by topic',
      labelNames: ['topic'],
    });
  }

  /** `sender`, with its requests, records and bytes measured. */
  measuredSender(sender: RecordSender): RecordSender {
    return {
      connect: () => sender.connect(),
      disconnect: () => sender.disconnect(),
      send: async (records) => {
        await timedOutcome(
          () => sender.send(records),
          (outcome, seconds) => {
            this.produceRequests.inc({ outcome });
            this.produceDurations.observe({ outcome }, seconds);
          },
        );
        // Summed per topic first: a request carries up to thousands of records.
        const byTopic = new Map<string, { records: number; bytes: number }>();
        for (const record of records) {
          const sums = byTopic.get(record.topic) ?? { records: 0, bytes: 0 };
          sums.records++;
          sums.bytes += payloadBytes(record);
          byTopic.set(record.topic, sums);
        }
        for (const [topic, sums] of byTopic) {
          this.producedRecords.inc({ topic }, sums.records);
          this.producedBytes.inc({ topic }, sums.bytes);
        }
      },
    };
  }

  /** `consumer`, with each batch its handler is given measured. */
  measuredConsumer(consumer: BatchConsumer): BatchConsumer {
    const measured =
      (handler: BatchHandler): BatchHandler =>
      async (batch) => {
        const result = await timedOutcome(
          () => handler(batch),
          (outcome, seconds) => {
            this.batches.inc({ topic: batch.topic, outcome });
            this.batchDurations.observe({ topic: batch.topic, outcome }, seconds);
          },
        );
        this.consumedRecords.inc({ topic: batch.topic }, batch.records.length);
        return result;
      };
    return {
      run: (handler) => consumer.run(measured(handler)),
      commit: (offsets) => consumer.commit(offsets),
      seek: (position) => consumer.seek(position),
      assignment: () => consumer.assignment(),
      stop: () => consumer.stop(),
    };
  }
}
