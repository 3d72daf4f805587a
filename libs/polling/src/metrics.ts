import { Counter, Gauge, type Registry } from '@granary/observability';

/** The scheduler's Prometheus metrics, registered on the app's registry. */
export interface PollingMetrics {
  polls: Counter<'source' | 'pollster'>;
  samples: Counter<'source' | 'pollster'>;
  errors: Counter<'source' | 'pollster' | 'code'>;
  lastSuccess: Gauge<'source' | 'pollster'>;
  blacklisted: Gauge<'source' | 'pollster'>;
  cyclesLate: Counter<'interval'>;
  cyclesOverrun: Counter<'interval'>;
  cyclesSkipped: Counter<'interval'>;
}

export function createPollingMetrics(registry: Registry): PollingMetrics {
  const registers = [registry];
  return {
    polls: new Counter({
      name: 'granary_poller_polls_total',
      help: 'Pollster runs',
      labelNames: ['source', 'pollster'],
      registers,
    }),
    samples: new Counter({
      name: 'granary_poller_samples_total',
      help: 'Samples polled',
      labelNames: ['source', 'pollster'],
      registers,
    }),
    errors: new Counter({
      name: 'granary_poller_errors_total',
      help: 'Failed pollster runs, by error code',
      labelNames: ['source', 'pollster', 'code'],
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'granary_poller_last_success_timestamp_seconds',
      help: 'End of the last successful run of each pollster, Unix seconds',
      labelNames: ['source', 'pollster'],
      registers,
    }),
    blacklisted: new Gauge({
      name: 'granary_poller_blacklisted_resources',
      help: 'Resources no longer polled after a permanent error, until restart',
      labelNames: ['source', 'pollster'],
      registers,
    }),
    cyclesLate: new Counter({
      name: 'granary_poller_cycles_late_total',
      help: 'Polling cycles that started later than their due time plus the tolerance',
      labelNames: ['interval'],
      registers,
    }),
    cyclesOverrun: new Counter({
      name: 'granary_poller_cycles_overrun_total',
      help: 'Polling cycles that took longer than their interval',
      labelNames: ['interval'],
      registers,
    }),
    cyclesSkipped: new Counter({
      name: 'granary_poller_cycles_skipped_total',
      help: 'Due polling cycles not started because the previous one of the same interval was still running',
      labelNames: ['interval'],
      registers,
    }),
  };
}
