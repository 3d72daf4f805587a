import { type Instruments, noInstruments } from '@granary/observability';
import type { LookupOutcome } from '@granary/publisher';

/** What `/metrics` shows of ingest. */
export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

export function createIngestMetrics(instruments: Instruments = noInstruments) {
  const rejected = instruments.counter({
    name: 'granary_ingest_rejected_total',
    help: 'Records and samples refused, by reason (the error code; dead-lettered unless a transformer refused it)',
    labelNames: ['reason'],
  });
  const deadLetters = instruments.counter({
    name: 'granary_ingest_dead_letters_total',
    help: "Records sent to the dead-letter topic, by error code (rejected_total's share that has a record)",
    labelNames: ['code'],
  });
  const cacheLookups = instruments.counter({
    name: 'granary_ingest_index_cache_lookups_total',
    help: 'Resource look-ups by where they were answered: memory, shared (Redis) or index (a miss)',
    labelNames: ['outcome'],
  });
  instruments.gauge({
    name: 'granary_ingest_index_cache_hit_ratio',
    help: 'Share of resource look-ups answered without the index since start',
    collect: async () => {
      const readings = await cacheLookups.readings();
      const count = (outcome: LookupOutcome) =>
        readings.find((r) => r.labels.outcome === outcome)?.value ?? 0;
      const total = count('memory') + count('shared') + count('index');
      return total === 0 ? 0 : (count('memory') + count('shared')) / total;
    },
  });
  return {
    samplesIn: instruments.counter({
      name: 'granary_ingest_samples_in_total',
      help: 'Samples read, by wire format (avro: granary.samples; oslo: Ceilometer notifications; notification: made from OpenStack notifications by meters.yaml; udp: the Ceilometer udp:// publisher)',
      labelNames: ['format'],
    }),
    samplesOut: instruments.counter({
      name: 'granary_ingest_samples_out_total',
      help: 'Measures produced to the measures topic (samples after the pipeline, mapped and resolved)',
    }),
    measureBatches: instruments.counter({
      name: 'granary_ingest_measure_batches_total',
      help: 'MeasureBatch records produced (one per metric per consumed batch)',
    }),
    rejected,
    deadLetters,
    notificationsDropped: instruments.counter({
      name: 'granary_ingest_notifications_dropped_total',
      help: 'Valid notifications that make no sample, by reason (event_type: no meter definition matches; priority: not info or sample)',
      labelNames: ['reason'],
    }),
    notificationSamplesWithoutVolume: instruments.counter({
      name: 'granary_ingest_notification_samples_without_volume_total',
      help: 'Samples a meter definition made whose volume path found nothing in the notification (skipped, as Gnocchi would refuse them)',
    }),
    datagrams: instruments.counter({
      name: 'granary_ingest_udp_datagrams_total',
      help: 'UDP datagrams received, by input (samples: Ceilometer udp://; statsd)',
      labelNames: ['input'],
    }),
    datagramsRefused: instruments.counter({
      name: 'granary_ingest_udp_dropped_total',
      help: 'UDP datagrams (samples) or statsd lines dropped, by input and reason (malformed ones by what is wrong, full: over the bound, index: metric not created)',
      labelNames: ['input', 'reason'],
    }),
    unmapped: instruments.counter({
      name: 'granary_ingest_unmapped_samples_total',
      help: 'Samples of meters no resource definition takes (skipped, logged once per meter)',
    }),
    cacheLookups,
    sharedCacheErrors: instruments.counter({
      name: 'granary_ingest_shared_cache_errors_total',
      help: 'Redis failures (the index answered instead)',
    }),
    lag: instruments.gauge({
      name: 'granary_ingest_consumer_lag',
      help: 'Records behind the end of the partition after the last handled batch',
      labelNames: ['topic', 'partition'],
    }),
    /** A consumed record refused and sent to the dead-letter topic. */
    deadLettered(code: string): void {
      rejected.inc({ reason: code });
      deadLetters.inc({ code });
    },
  };
}
