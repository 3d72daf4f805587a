import type { BoundedLru } from '@granary/bounded-cache';
import {
  type Counter,
  type Gauge,
  type Histogram,
  type Instruments,
  noInstruments,
  timedOutcome,
} from '@granary/observability';

/** The reader's two caches: decoded live segments, decoded compacted splits. */
export type ReaderCache = 'segment' | 'split';

/**
 * The reader's metrics: reads and the refresh waits within them by outcome (`ok` or the error
 * code, whichever lib raised it), and its caches' look-ups, evictions and weight.
 */
export class ReaderInstruments {
  private readonly reads: Counter<'outcome'>;
  private readonly readDurations: Histogram<'outcome'>;
  private readonly refreshWaits: Histogram<'outcome'>;
  private readonly cacheLookups: Counter<'cache' | 'outcome'>;
  private readonly cacheEvictions: Counter<'cache'>;
  private readonly cacheBytes: Gauge<'cache'>;

  constructor(instruments: Instruments = noInstruments) {
    this.reads = instruments.counter({
      name: 'granary_reader_reads_total',
      help: "Reads of one metric's series (every granularity asked), by outcome (ok or the error code)",
      labelNames: ['outcome'],
    });
    this.readDurations = instruments.histogram({
      name: 'granary_reader_read_duration_seconds',
      help: "Reads of one metric's series from call to answer (refresh wait included), by outcome",
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.refreshWaits = instruments.histogram({
      name: 'granary_reader_refresh_wait_seconds',
      help: "refresh=true: the wait for the partition owner's checkpoint, by outcome (ok or the error code)",
      labelNames: ['outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.cacheLookups = instruments.counter({
      name: 'granary_reader_cache_lookups_total',
      help: 'Cache look-ups by cache (segment, split) and outcome (hit; miss, a split rewritten since included)',
      labelNames: ['cache', 'outcome'],
    });
    this.cacheEvictions = instruments.counter({
      name: 'granary_reader_cache_evictions_total',
      help: 'Entries evicted to make room, by cache (segment, split)',
      labelNames: ['cache'],
    });
    this.cacheBytes = instruments.gauge({
      name: 'granary_reader_cache_bytes',
      help: 'Bytes the cache holds (decoded entries weighed as the cache bounds them), by cache',
      labelNames: ['cache'],
    });
  }

  async read<Result>(run: () => Promise<Result>): Promise<Result> {
    return timed(this.readDurations, run, (outcome) => this.reads.inc({ outcome }));
  }

  async refreshWait(run: () => Promise<void>): Promise<void> {
    return timed(this.refreshWaits, run);
  }

  looked(cache: ReaderCache, hit: boolean): void {
    this.cacheLookups.inc({ cache, outcome: hit ? 'hit' : 'miss' });
  }

  /** `lru.set(key, value, weight)`, with what it evicted and the weight it leaves measured. */
  store<Value>(cache: ReaderCache, lru: BoundedLru<Value>, key: string, value: Value, weight: number): void {
    const evictedBefore = lru.evictions;
    lru.set(key, value, weight);
    const evicted = lru.evictions - evictedBefore;
    if (evicted > 0) this.cacheEvictions.inc({ cache }, evicted);
    this.cacheBytes.set({ cache }, lru.weight);
  }
}

function timed<Result>(
  durations: Histogram<'outcome'>,
  run: () => Promise<Result>,
  counted: (outcome: string) => void = () => {},
): Promise<Result> {
  return timedOutcome(run, (outcome, seconds) => {
    counted(outcome);
    durations.observe({ outcome }, seconds);
  });
}
