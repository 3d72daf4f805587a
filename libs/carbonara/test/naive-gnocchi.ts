/**
 * A deliberately naive model of Gnocchi's carbonara (BoundTimeSerie + GroupedTimeSeries +
 * AggregatedTimeSerie merge/truncate), written from gnocchi.md §1–3 with plain arrays of pairs and
 * no attempt at speed: the reference the engine is property-tested against.
 */
export type Pair = [number, number];

export interface NaivePolicy {
  backWindow: number;
  definition: { granularity: number; timespan: number | null }[];
  methods: string[];
}

const floorTimestamp = (ts: number, granularity: number) => Math.floor(ts / granularity) * granularity;

/** Gnocchi's reducers on one bucket; `offset` is the bucket's first index in the grouped array. */
function reduce(method: string, bucket: number[], offset: number): number | undefined {
  const sorted = [...bucket].sort((a, b) => a - b);
  const n = bucket.length;
  const sum = bucket.reduce((total, value) => total + value, 0);
  switch (method) {
    case 'mean':
      return sum / n;
    case 'sum':
      return sum;
    case 'count':
      return n;
    case 'first':
      return bucket[0];
    case 'last':
      return bucket[n - 1];
    case 'min':
      return sorted[0];
    case 'max':
      return sorted[n - 1];
    case 'median':
      return ((sorted[Math.floor((n - 1) / 2)] as number) + (sorted[Math.ceil((n - 1) / 2)] as number)) / 2;
    case 'std': {
      if (n < 2) return undefined;
      const mean = sum / n;
      return Math.sqrt(bucket.reduce((total, value) => total + (value - mean) ** 2, 0) / (n - 1));
    }
    default: {
      const q = Number(method.replace('pct', ''));
      const position = offset + (n - 1) * (q / 100);
      const low = Math.floor(position);
      const high = Math.ceil(position);
      if (low === high) return sorted[low - offset];
      return (
        (sorted[low - offset] as number) * (high - position) +
        (sorted[high - offset] as number) * (position - low)
      );
    }
  }
}

/** GroupedTimeSeries(points, granularity) reduced with a plain method. */
export function naiveGroup(points: Pair[], granularity: number, method: string): Pair[] {
  const out: Pair[] = [];
  let index = 0;
  while (index < points.length) {
    const bucket = floorTimestamp((points[index] as Pair)[0], granularity);
    const values: number[] = [];
    const offset = index;
    while (index < points.length && floorTimestamp((points[index] as Pair)[0], granularity) === bucket) {
      values.push((points[index++] as Pair)[1]);
    }
    const value = reduce(method, values, offset);
    if (value !== undefined) out.push([bucket, value]);
  }
  return out;
}

export class NaiveGnocchi {
  raw: Pair[] = [];
  readonly aggregates = new Map<string, Pair[]>();

  constructor(readonly policy: NaivePolicy) {
    for (const { granularity } of policy.definition) {
      for (const method of policy.methods) this.aggregates.set(`${method}@${granularity}`, []);
    }
  }

  private firstBlockStart(): number {
    const blockSize = Math.max(...this.policy.definition.map((item) => item.granularity));
    const backWindow =
      this.policy.backWindow + (this.policy.methods.some((m) => m.startsWith('rate:')) ? 1 : 0);
    return floorTimestamp((this.raw[this.raw.length - 1] as Pair)[0], blockSize) - blockSize * backWindow;
  }

  apply(batch: Pair[]): { accepted: number; droppedTooOld: number } {
    const sorted: Pair[] = [];
    // numpy.sort(order='timestamps') breaks ties on the value: the smallest duplicate comes first.
    for (const pair of [...batch].sort((a, b) => a[0] - b[0] || a[1] - b[1])) {
      if (!sorted.some(([ts]) => ts === pair[0])) sorted.push(pair);
    }
    const threshold = this.raw.length > 0 ? this.firstBlockStart() : Number.NEGATIVE_INFINITY;
    const fresh = sorted.filter(([ts]) => ts >= threshold);
    if (fresh.length === 0) return { accepted: 0, droppedTooOld: sorted.length };
    const merged = new Map(this.raw);
    for (const [ts, value] of fresh) merged.set(ts, value);
    this.raw = [...merged].sort((a, b) => a[0] - b[0]);

    // storage/__init__.py: tstamp = max(bound_timeserie.first, measures['timestamps'][0]), the
    // batch's oldest measure counted even when it was too old to keep.
    const firstNew = Math.max((this.raw[0] as Pair)[0], (sorted[0] as Pair)[0]);
    for (const { granularity, timespan } of this.policy.definition) {
      const start = floorTimestamp(firstNew, granularity);
      for (const method of this.policy.methods) {
        let computed: Pair[];
        if (method.startsWith('rate:')) {
          const window = this.raw.filter(([ts]) => ts >= start - granularity);
          const deltas: Pair[] = window
            .slice(1)
            .map(([ts, value], index) => [ts, value - (window[index] as Pair)[1]]);
          computed = naiveGroup(
            deltas.filter(([ts]) => ts >= start),
            granularity,
            method.slice('rate:'.length),
          );
        } else {
          computed = naiveGroup(
            this.raw.filter(([ts]) => ts >= start),
            granularity,
            method,
          );
        }
        const key = `${method}@${granularity}`;
        const stored = new Map(this.aggregates.get(key));
        for (const [ts, value] of computed) stored.set(ts, value);
        let series = [...stored].sort((a, b) => a[0] - b[0]);
        if (timespan !== null && series.length > 0) {
          const last = (series[series.length - 1] as Pair)[0];
          series = series.filter(([ts]) => ts > last - timespan);
        }
        this.aggregates.set(key, series);
      }
    }
    const keepFrom = this.firstBlockStart();
    this.raw = this.raw.filter(([ts]) => ts >= keepFrom);
    return { accepted: fresh.length, droppedTooOld: sorted.length - fresh.length };
  }
}
