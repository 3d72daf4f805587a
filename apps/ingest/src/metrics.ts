import { countByCode } from '@granary/coordination';
import { Counter, Gauge, type Registry } from '@granary/observability';
import type { LookupOutcome } from '@granary/publisher';

/** What `/metrics` shows of ingest. */
export class IngestMetrics {
  readonly samplesIn: Counter<'format'>;
  readonly samplesOut: Counter;
  readonly measureBatches: Counter;
  readonly rejected: Counter<'reason'>;
  readonly unmapped: Counter;
  readonly notificationsDropped: Counter<'reason'>;
  readonly notificationSamplesWithoutVolume: Counter;
  readonly datagrams: Counter<'input'>;
  readonly datagramsRefused: Counter<'input' | 'reason'>;
  readonly cacheLookups: Counter<'outcome'>;
  readonly sharedCacheErrors: Counter;
  readonly lag: Gauge<'topic' | 'partition'>;
  /** Records sent to the dead-letter topic by code: `rejected`'s share that has a record, for the member status. */
  readonly deadLettersByCode = new Map<string, number>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.samplesIn = new Counter({
      name: 'granary_ingest_samples_in_total',
      help: 'Samples read, by wire format (avro: granary.samples; oslo: Ceilometer notifications; notification: made from OpenStack notifications by meters.yaml; udp: the Ceilometer udp:// publisher)',
      labelNames: ['format'],
      registers,
    });
    this.samplesOut = new Counter({
      name: 'granary_ingest_samples_out_total',
      help: 'Measures produced to the measures topic (samples after the pipeline, mapped and resolved)',
      registers,
    });
    this.measureBatches = new Counter({
      name: 'granary_ingest_measure_batches_total',
      help: 'MeasureBatch records produced (one per metric per consumed batch)',
      registers,
    });
    this.rejected = new Counter({
      name: 'granary_ingest_rejected_total',
      help: 'Records and samples refused, by reason (the error code; dead-lettered unless a transformer refused it)',
      labelNames: ['reason'],
      registers,
    });
    this.notificationsDropped = new Counter({
      name: 'granary_ingest_notifications_dropped_total',
      help: 'Valid notifications that make no sample, by reason (event_type: no meter definition matches; priority: not info or sample)',
      labelNames: ['reason'],
      registers,
    });
    this.notificationSamplesWithoutVolume = new Counter({
      name: 'granary_ingest_notification_samples_without_volume_total',
      help: 'Samples a meter definition made whose volume path found nothing in the notification (skipped, as Gnocchi would refuse them)',
      registers,
    });
    this.datagrams = new Counter({
      name: 'granary_ingest_udp_datagrams_total',
      help: 'UDP datagrams received, by input (samples: Ceilometer udp://; statsd)',
      labelNames: ['input'],
      registers,
    });
    this.datagramsRefused = new Counter({
      name: 'granary_ingest_udp_dropped_total',
      help: 'UDP datagrams (samples) or statsd lines dropped, by input and reason (malformed ones by what is wrong, full: over the bound, index: metric not created)',
      labelNames: ['input', 'reason'],
      registers,
    });
    this.unmapped = new Counter({
      name: 'granary_ingest_unmapped_samples_total',
      help: 'Samples of meters no resource definition takes (skipped, logged once per meter)',
      registers,
    });
    this.cacheLookups = new Counter({
      name: 'granary_ingest_index_cache_lookups_total',
      help: 'Resource look-ups by where they were answered: memory, shared (Redis) or index (a miss)',
      labelNames: ['outcome'],
      registers,
    });
    const lookups = this.cacheLookups;
    new Gauge({
      name: 'granary_ingest_index_cache_hit_ratio',
      help: 'Share of resource look-ups answered without the index since start',
      registers,
      async collect() {
        const values = (await lookups.get()).values;
        const count = (outcome: LookupOutcome) =>
          values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
        const total = count('memory') + count('shared') + count('index');
        this.set(total === 0 ? 0 : (count('memory') + count('shared')) / total);
      },
    });
    this.sharedCacheErrors = new Counter({
      name: 'granary_ingest_shared_cache_errors_total',
      help: 'Redis failures (the index answered instead)',
      registers,
    });
    this.lag = new Gauge({
      name: 'granary_ingest_consumer_lag',
      help: 'Records behind the end of the partition after the last handled batch',
      labelNames: ['topic', 'partition'],
      registers,
    });
  }

  /** A consumed record refused and sent to the dead-letter topic. */
  deadLettered(code: string): void {
    this.rejected.inc({ reason: code });
    countByCode(this.deadLettersByCode, code);
  }
}
