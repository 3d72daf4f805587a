import { type Instruments, noInstruments } from '@granary/observability';

/** The scheduler's metrics. */
export type PollingMetrics = ReturnType<typeof createPollingMetrics>;

export function createPollingMetrics(instruments: Instruments = noInstruments) {
  return {
    polls: instruments.counter({
      name: 'granary_poller_polls_total',
      help: 'Pollster runs',
      labelNames: ['source', 'pollster'],
    }),
    samples: instruments.counter({
      name: 'granary_poller_samples_total',
      help: 'Samples polled',
      labelNames: ['source', 'pollster'],
    }),
    errors: instruments.counter({
      name: 'granary_poller_errors_total',
      help: 'Failed pollster runs, by error code',
      labelNames: ['source', 'pollster', 'code'],
    }),
    lastSuccess: instruments.gauge({
      name: 'granary_poller_last_success_timestamp_seconds',
      help: 'End of the last successful run of each pollster, Unix seconds',
      labelNames: ['source', 'pollster'],
    }),
    blacklisted: instruments.gauge({
      name: 'granary_poller_blacklisted_resources',
      help: 'Resources no longer polled after a permanent error, until restart',
      labelNames: ['source', 'pollster'],
    }),
    cyclesLate: instruments.counter({
      name: 'granary_poller_cycles_late_total',
      help: 'Polling cycles that started later than their due time plus the tolerance',
      labelNames: ['interval'],
    }),
    cyclesOverrun: instruments.counter({
      name: 'granary_poller_cycles_overrun_total',
      help: 'Polling cycles that took longer than their interval',
      labelNames: ['interval'],
    }),
    cyclesSkipped: instruments.counter({
      name: 'granary_poller_cycles_skipped_total',
      help: 'Due polling cycles not started because the previous one of the same interval was still running',
      labelNames: ['interval'],
    }),
  };
}
