import { GranaryError } from '@granary/errors';
import {
  type ConsumedRecord,
  type OutgoingRecord,
  type RecordBatch,
  lagAfter,
  toDeadLetter,
} from '@granary/kafka';
import { type NotificationMeters, decodeNotification } from '@granary/notification-meters';
import type { Logger } from '@granary/observability';
import type { MeterSample, SamplePipeline, SinkOutput } from '@granary/pipeline';
import {
  type GnocchiPublisher,
  type PublishItem,
  admitMeterDict,
  admitSample,
  decodeOsloNotification,
} from '@granary/publisher';
import type { PyDict } from '@granary/python-format';
import type { MeasureBatch, MeasuresWriter, Sample, TopicSerde } from '@granary/schema';
import { ingestErrors } from './errors.ts';
import type { IngestMetrics } from './metrics.ts';

export interface IngestorOptions {
  samplesTopic: string;
  /** OpenStack services' notification topics, metered by `notificationMeters`. */
  notificationTopics: ReadonlySet<string>;
  notificationMeters: NotificationMeters;
  /** Dead letters of both input topics (Ceilometer's notifications included). */
  deadLetterTopic: string;
  telemetrySecret: string;
  samples: Pick<TopicSerde<Sample>, 'decodeAll'>;
  /** Resolves once every batch is acknowledged (acks=all). */
  measures: MeasuresWriter;
  pipeline: SamplePipeline;
  publisher: GnocchiPublisher;
  /** Dead letters; resolves once every record is acknowledged (acks=all). */
  send(records: readonly OutgoingRecord[]): Promise<void>;
  metrics: IngestMetrics;
  logger: Logger;
}

/** Where each admitted sample came from, so a refusal downstream can dead-letter its record. */
interface Admitted {
  samples: MeterSample[];
  recordOf: Map<string, ConsumedRecord>;
  deadLetters: Map<ConsumedRecord, GranaryError>;
}

/**
 * One consumed batch → measures and dead letters, sent and acknowledged before the handler
 * resolves, so that the consumer commits the batch's offsets only afterwards: a restart replays at
 * most the uncommitted tail, and replayed measures land on the same timestamps of the same metrics.
 */
export class Ingestor {
  private readonly unmappedMeters = new Set<string>();

  constructor(private readonly options: IngestorOptions) {}

  async handle(batch: RecordBatch): Promise<void> {
    const { metrics } = this.options;
    const admitted: Admitted = { samples: [], recordOf: new Map(), deadLetters: new Map() };
    if (batch.topic === this.options.samplesTopic) await this.admitAvro(batch.records, admitted);
    else if (this.options.notificationTopics.has(batch.topic))
      this.admitNotifications(batch.records, admitted);
    else this.admitOslo(batch.records, admitted);
    await this.publish(admitted);

    if (batch.records.length > 0)
      metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, lagAfter(batch));
  }

  /**
   * Meter dicts from Ceilometer's `udp://` publisher, checked (signature included) as those of
   * Kafka are. A datagram has no record to dead-letter: a refused sample is counted and logged.
   */
  async ingestMeters(meters: readonly PyDict[]): Promise<void> {
    const { metrics, logger } = this.options;
    const admitted: Admitted = { samples: [], recordOf: new Map(), deadLetters: new Map() };
    metrics.samplesIn.inc({ format: 'udp' }, meters.length);
    for (const meter of meters) {
      try {
        admitted.samples.push(admitMeterDict(meter, this.options.telemetrySecret));
      } catch (error) {
        const refusal = coded(error);
        metrics.rejected.inc({ reason: refusal.code });
        logger.warn({ code: refusal.code, err: refusal }, 'UDP sample refused; skipped');
      }
    }
    await this.publish(admitted);
  }

  /** Measures of metrics already resolved (Gnocchi's statsd input), sent as the others are. */
  async sendMeasures(batches: readonly MeasureBatch[]): Promise<void> {
    await dependency(() => this.options.measures.write(batches));
    this.countOut(batches);
  }

  private countOut(batches: readonly MeasureBatch[]): void {
    this.options.metrics.samplesOut.inc(batches.reduce((n, b) => n + b.values.length, 0));
    this.options.metrics.measureBatches.inc(batches.length);
  }

  /** Admitted samples → pipeline → publisher → measures and dead letters, sent and acknowledged. */
  private async publish(admitted: Admitted): Promise<void> {
    const { metrics } = this.options;
    const outputs = this.options.pipeline.process(admitted.samples);
    const result = await dependency(() => this.options.publisher.publish(outputs.flatMap(publishItems)));

    for (const { sample, error } of result.refused) this.refuse(sample, error, admitted);
    for (const sample of result.unmapped) {
      metrics.unmapped.inc();
      if (this.unmappedMeters.has(sample.counter_name)) continue;
      this.unmappedMeters.add(sample.counter_name);
      this.options.logger.warn(
        { meter: sample.counter_name, resourceId: sample.resource_id },
        'no resource definition takes this meter; its samples are skipped (logged once per meter)',
      );
    }

    const letters: OutgoingRecord[] = [];
    for (const [record, error] of admitted.deadLetters) {
      metrics.deadLettered(error.code);
      letters.push(toDeadLetter(record, error, this.options.deadLetterTopic));
    }
    await dependency(() =>
      Promise.all([
        this.options.measures.write(result.batches),
        letters.length > 0 ? this.options.send(letters) : undefined,
      ]),
    );
    this.countOut(result.batches);
  }

  private async admitAvro(records: ConsumedRecord[], admitted: Admitted): Promise<void> {
    const present = records.filter((record) => {
      if (record.value !== null) return true;
      this.deadLetter(record, ingestErrors('INGEST_EMPTY_RECORD', `offset ${record.offset}`), admitted);
      return false;
    });
    // A registry outage rejects the whole call (retriable): the batch is retried, not dead-lettered.
    const decoded = await dependency(() => this.options.samples.decodeAll(present.map((r) => r.value!)));
    this.options.metrics.samplesIn.inc({ format: 'avro' }, present.length);
    decoded.forEach((outcome, i) => {
      const record = present[i]!;
      if (!outcome.ok) return this.deadLetter(record, outcome.error, admitted);
      this.admitOne(record, () => admitSample(outcome.value, this.options.telemetrySecret), admitted);
    });
  }

  private admitOslo(records: ConsumedRecord[], admitted: Admitted): void {
    for (const record of records) {
      let meters: ReturnType<typeof decodeOsloNotification>;
      try {
        meters = decodeOsloNotification(record.value);
      } catch (error) {
        this.deadLetter(record, coded(error), admitted);
        continue;
      }
      this.options.metrics.samplesIn.inc({ format: 'oslo' }, meters.length);
      // The good samples of a notification go on; the record is dead-lettered for the bad ones.
      for (const meter of meters)
        this.admitOne(record, () => admitMeterDict(meter, this.options.telemetrySecret), admitted);
    }
  }

  /**
   * Ceilometer's notification agent: meters.yaml makes the samples (unsigned: they are made here).
   * A notification no definition meters is counted, not an error; a broken one is dead-lettered.
   */
  private admitNotifications(records: ConsumedRecord[], admitted: Admitted): void {
    const { metrics } = this.options;
    for (const record of records) {
      let outcome: ReturnType<NotificationMeters['meter']>;
      try {
        outcome = this.options.notificationMeters.meter(decodeNotification(record.value));
      } catch (error) {
        this.deadLetter(record, coded(error), admitted);
        continue;
      }
      if (outcome.kind === 'dropped') {
        metrics.notificationsDropped.inc({ reason: outcome.reason });
        continue;
      }
      metrics.samplesIn.inc({ format: 'notification' }, outcome.meters.length);
      metrics.notificationSamplesWithoutVolume.inc(outcome.withoutVolume);
      for (const failure of outcome.failures) this.deadLetter(record, coded(failure), admitted);
      for (const meter of outcome.meters) this.admitOne(record, () => admitMeterDict(meter, ''), admitted);
    }
  }

  private admitOne(record: ConsumedRecord, admit: () => MeterSample, admitted: Admitted): void {
    try {
      const sample = admit();
      admitted.samples.push(sample);
      admitted.recordOf.set(sample.message_id, record);
    } catch (error) {
      this.deadLetter(record, coded(error), admitted);
    }
  }

  /** The first reason a record is refused is the one its dead letter carries. */
  private deadLetter(record: ConsumedRecord, error: GranaryError, admitted: Admitted): void {
    if (!admitted.deadLetters.has(record)) admitted.deadLetters.set(record, error);
    this.options.logger.warn(
      {
        code: error.code,
        err: error,
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
      },
      'sample refused; its record goes to the dead-letter topic',
    );
  }

  /**
   * A sample whose resource the index refused: dead-letter its record when it is one as consumed;
   * a sample a transformer made has no record of its own, so it is counted and logged.
   */
  private refuse(sample: MeterSample, error: GranaryError, admitted: Admitted): void {
    const record = admitted.recordOf.get(sample.message_id);
    if (record) {
      this.deadLetter(record, error, admitted);
      return;
    }
    this.options.metrics.rejected.inc({ reason: error.code });
    this.options.logger.warn(
      { code: error.code, err: error, meter: sample.counter_name, resourceId: sample.resource_id },
      'sample without a record (made by a transformer or a UDP input) refused by the index; skipped',
    );
  }
}

/**
 * The reason a record's own handling failed. An uncoded error there (a TypeError, a RangeError
 * "Maximum call stack size exceeded", ...) comes from this record's content: it is the record's
 * problem, dead-lettered with INGEST_RECORD_FAILED and the original message, and ingest goes on.
 */
function coded(error: unknown): GranaryError {
  if (error instanceof GranaryError) return error;
  return ingestErrors('INGEST_RECORD_FAILED', error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}

/**
 * A call that serves the whole batch (registry, index through the publisher, producer). Per-record
 * failures come back from it as values (decode outcomes, refused samples); what it throws is the
 * dependency's own failure, which no record of the batch caused. Coded errors keep their retriable
 * flag; an uncoded one is made retriable, so the batch is retried and holds its partition rather
 * than dead-lettering every record of it.
 */
async function dependency<Result>(call: () => Promise<Result>): Promise<Result> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof GranaryError) throw error;
    throw ingestErrors('INGEST_DEPENDENCY_FAILED', error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }
}

/** A sink's output for the Gnocchi publisher, once per `gnocchi://` URL (pass-through: once, no override). */
function publishItems(output: SinkOutput): PublishItem[] {
  if (output.sink === undefined) return output.samples.map((sample) => ({ sample }));
  return output.publishers.flatMap((publisher) => {
    const archivePolicyOverride = publisher.options.archive_policy;
    return output.samples.map((sample) =>
      archivePolicyOverride ? { sample, archivePolicyOverride } : { sample },
    );
  });
}
