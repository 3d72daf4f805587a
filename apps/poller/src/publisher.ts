import { randomUUID } from 'node:crypto';
import {
  BatchingProducer,
  type OutgoingRecord,
  type ProducerOptions,
  type RecordSender,
} from '@granary/kafka';
import type { PolledBatch, PolledSample } from '@granary/polling';
import type { Sample, TopicSerde } from '@granary/schema';
import { type UnsignedSample, signSample } from '@granary/telemetry';

export interface SamplePublisherOptions {
  topic: string;
  telemetrySecret: string;
  sampleSource: string;
  /** Samples per produce request; 0 sends each pollster run as one request. */
  batchSize: number;
  /** Written in the `granary-poller` header of every record, to tell replicas apart downstream. */
  replicaId: string;
}

/** Ceilometer's sample fields of one polled sample (`meter_message_from_counter` before signing). */
export function toUnsignedSample(
  batch: PolledBatch,
  polled: PolledSample,
  sampleSource: string,
): UnsignedSample {
  return {
    counter_name: polled.name,
    counter_type: polled.type,
    counter_unit: polled.unit,
    counter_volume: polled.volume,
    user_id: polled.userId ?? null,
    project_id: polled.projectId ?? null,
    user_name: null,
    project_name: null,
    resource_id: polled.resourceId,
    timestamp: batch.timestamp,
    resource_metadata: JSON.stringify(polled.metadata ?? {}),
    source: polled.source ?? sampleSource,
    // Ceilometer uses uuid1; any unique id serves, and v4 does not leak the host's MAC address.
    message_id: randomUUID(),
    monotonic_time: batch.monotonicTime,
  };
}

/** The producer of samples: a produce request carries at most `batchSize` samples (0: no limit), as Ceilometer's messages do. */
export function createSampleProducer(
  sender: RecordSender,
  batchSize: number,
  options: ProducerOptions = {},
): BatchingProducer {
  return new BatchingProducer(sender, {
    ...options,
    ...(batchSize > 0 ? { maxBatchRecords: batchSize } : {}),
  });
}

/** Signs polled samples and produces them as Avro `Sample` records keyed by resource id, in batches. */
export class SamplePublisher {
  constructor(
    private readonly producer: BatchingProducer,
    private readonly serde: TopicSerde<Sample>,
    private readonly options: SamplePublisherOptions,
  ) {}

  async publish(batch: PolledBatch): Promise<void> {
    const records: OutgoingRecord[] = batch.samples.map((polled) => {
      const sample = signSample(
        toUnsignedSample(batch, polled, this.options.sampleSource),
        this.options.telemetrySecret,
      );
      return {
        topic: this.options.topic,
        key: sample.resource_id,
        value: this.serde.encode(sample),
        headers: { 'granary-poller': this.options.replicaId },
      };
    });
    const size = this.options.batchSize || records.length;
    const sends: Promise<void>[] = [];
    for (let start = 0; start < records.length; start += size) {
      sends.push(this.producer.send(records.slice(start, start + size)));
    }
    await Promise.all(sends);
  }
}
