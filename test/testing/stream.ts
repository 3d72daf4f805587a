import type { IndexedPolicy } from '@granary/processing';

/** Gnocchi's `medium` policy as the index stores it (seconds). */
export const MEDIUM: IndexedPolicy = {
  name: 'medium',
  backWindow: 0,
  definition: [
    { granularity: 60, points: 10_080, timespan: 604_800 },
    { granularity: 3600, points: 8760, timespan: 31_536_000 },
  ],
  aggregationMethods: ['mean', 'min', 'max', 'sum', 'std', 'count'],
};

/** Short retention, a back window and rate methods: splits expire and late points get dropped. */
export const SHORT_WITH_RATE: IndexedPolicy = {
  name: 'short-rate',
  backWindow: 1,
  definition: [
    { granularity: 1, points: 900, timespan: 900 },
    { granularity: 300, points: 24, timespan: 7200 },
  ],
  aggregationMethods: ['mean', 'last', 'rate:mean', '95pct'],
};

/** Deterministic PRNG (mulberry32): the same seed gives the same stream on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A UUID made from the PRNG, so metric ids are stable across runs too. */
export function seededUuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

export interface StreamBatch {
  readonly metricId: string;
  readonly timestamps: number[];
  readonly values: number[];
}

export interface StreamOptions {
  readonly seed: number;
  readonly metrics: number;
  readonly batchesPerMetric: number;
  readonly measuresPerBatch: number;
  /** Time between a metric's successive measures, µs. */
  readonly stepUs: number;
  /** Share of batches that also carry a few points from the past (late, some beyond the back window). */
  readonly lateShare?: number;
}

export const START_US = 1_763_700_000_000_000;

/**
 * A seeded stream of measure batches: `metrics` metric ids, each sending `batchesPerMetric`
 * batches of `measuresPerBatch` measures in time order (some unsorted, some duplicated, some late),
 * interleaved across metrics in a seeded order.
 */
export function generateStream(options: StreamOptions): { metricIds: string[]; batches: StreamBatch[] } {
  const random = seededRandom(options.seed);
  const metricIds = Array.from({ length: options.metrics }, () => seededUuid(random));
  const nextSlot = new Array<number>(options.metrics).fill(0);
  const remaining = new Array<number>(options.metrics).fill(options.batchesPerMetric);
  const batches: StreamBatch[] = [];
  const live = metricIds.map((_, index) => index);
  while (live.length > 0) {
    const pick = Math.floor(random() * live.length);
    const metric = live[pick] as number;
    const timestamps: number[] = [];
    const values: number[] = [];
    for (let i = 0; i < options.measuresPerBatch; i++) {
      const slot = nextSlot[metric] as number;
      nextSlot[metric] = slot + 1;
      timestamps.push(START_US + slot * options.stepUs + Math.floor(random() * 1000));
      values.push(Math.round(random() * 10_000) / 100);
    }
    if (random() < (options.lateShare ?? 0)) {
      // Late points: one just behind, one far behind (beyond any back window once data moved on).
      const slot = nextSlot[metric] as number;
      timestamps.push(START_US + Math.max(0, slot - options.measuresPerBatch - 2) * options.stepUs);
      values.push(-1);
      timestamps.push(START_US + Math.floor(slot / 3) * options.stepUs);
      values.push(-2);
    }
    if (random() < 0.2) {
      timestamps.reverse();
      values.reverse();
    }
    batches.push({ metricId: metricIds[metric] as string, timestamps, values });
    remaining[metric] = (remaining[metric] as number) - 1;
    if (remaining[metric] === 0) {
      live[pick] = live[live.length - 1] as number;
      live.pop();
    }
  }
  return { metricIds, batches };
}
