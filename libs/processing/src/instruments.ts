import {
  type Counter,
  type Gauge,
  type Histogram,
  type Instruments,
  noInstruments,
} from '@granary/observability';

/**
 * The processor's metrics, declared on the app's instruments (exported on the admin port's
 * `/metrics`). The counters are also what the member status reports (dead letters by code, points
 * dropped as too old): read them with `readings()`.
 */
export class ProcessingInstruments {
  readonly consumerLag: Gauge<'partition'>;
  readonly measuresApplied: Counter;
  readonly pointsDroppedTooOld: Counter;
  readonly measuresDropped: Counter<'reason'>;
  readonly deadLetters: Counter<'code'>;
  readonly checkpointDuration: Histogram;
  readonly compactionDuration: Histogram;
  readonly recoveryDuration: Histogram;
  readonly objectWrites: Counter<'kind'>;
  readonly bytesWritten: Counter<'kind'>;
  readonly metricsInMemory: Gauge;
  readonly fenced: Counter;
  readonly watermarkFailures: Counter;

  constructor(instruments: Instruments = noInstruments) {
    this.consumerLag = instruments.gauge({
      name: 'granary_processor_consumer_lag',
      help: 'Records between the partition end and the next record to apply, at the last batch',
      labelNames: ['partition'],
    });
    this.measuresApplied = instruments.counter({
      name: 'granary_processor_measures_applied_total',
      help: 'Measures merged into in-memory state (rate() gives measures/s)',
    });
    this.pointsDroppedTooOld = instruments.counter({
      name: 'granary_processor_points_dropped_too_old_total',
      // Unlabelled: a metric-id label would make one series per metric. The partition logs the ids.
      help: "Points older than the metric's raw tail first block (back window); the processor logs which metrics",
    });
    this.measuresDropped = instruments.counter({
      name: 'granary_processor_measures_dropped_total',
      help: 'Measures not applied, by reason (metric_deleted)',
      labelNames: ['reason'],
    });
    this.deadLetters = instruments.counter({
      name: 'granary_processor_dead_letters_total',
      help: 'Records sent to the dead-letter topic, by error code',
      labelNames: ['code'],
    });
    this.checkpointDuration = instruments.histogram({
      name: 'granary_processor_checkpoint_duration_seconds',
      help: 'One partition checkpoint: segment write, manifest write, offset commit, watermark',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    this.compactionDuration = instruments.histogram({
      name: 'granary_processor_compaction_duration_seconds',
      help: 'One partition compaction: segments folded into Gnocchi splits',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    });
    this.recoveryDuration = instruments.histogram({
      name: 'granary_processor_recovery_seconds',
      help: 'From a partition assigned to its first batch applied (claim, live segments, raw tails loaded)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    });
    this.objectWrites = instruments.counter({
      name: 'granary_processor_object_writes_total',
      help: 'Objects written to storage, by kind (segment, manifest, split, raw_tail)',
      labelNames: ['kind'],
    });
    this.bytesWritten = instruments.counter({
      name: 'granary_processor_bytes_written_total',
      help: 'Bytes written to storage, by kind (segment, manifest, split, raw_tail)',
      labelNames: ['kind'],
    });
    this.metricsInMemory = instruments.gauge({
      name: 'granary_processor_metrics_in_memory',
      help: 'Metrics whose state is held in memory',
    });
    this.fenced = instruments.counter({
      name: 'granary_processor_partitions_fenced_total',
      help: 'Manifest writes refused because another processor had claimed the partition',
    });
    this.watermarkFailures = instruments.counter({
      name: 'granary_processor_watermark_failures_total',
      help: 'Offset commits or Redis watermark publications that failed (state is safe; freshness is not)',
    });
  }

  deadLettered(code: string): void {
    this.deadLetters.inc({ code });
  }

  droppedTooOld(points: number): void {
    this.pointsDroppedTooOld.inc(points);
  }
}
