import { seededRandom } from '@granary/testing/stream';

/**
 * Seeded random workloads for the differential test against Gnocchi 4.7.1: an archive policy,
 * a few metrics, batches of measures (each batch is one POST per metric, processed before the next)
 * and the reads to compare afterwards. The same seed always gives the same case.
 */

export interface Measure {
  timestamp: string;
  value: number;
}

export interface ArchivePolicy {
  name: string;
  back_window: number;
  definition: { granularity: string; points: number }[];
  aggregation_methods: string[];
}

/** An operations tree of `/v1/aggregates` whose metric references are indexes into the case's metrics. */
export type Operation = string | number | { metric: number; aggregation: string } | Operation[];

export type Read =
  | { kind: 'measures'; metric: number; query: [string, string][] }
  | { kind: 'aggregates'; query: [string, string][]; operations: Operation };

export interface Case {
  seed: number;
  policy: ArchivePolicy;
  metrics: number;
  /** batches[b][m]: the measures metric m receives in batch b. */
  batches: Measure[][][];
  reads: Read[];
}

const BASE_MS = Date.UTC(2026, 2, 1, 0, 0, 0);
const GRANULARITIES = [1, 2, 5, 10, 30, 60, 300, 3600];
const POLICY_METHODS = ['mean', 'min', 'max', 'sum', 'count', 'first', 'last', 'median', 'std'];
const PERCENTILES = ['5pct', '50pct', '90pct', '99pct'];
/** What `aggregate`, `resample` and `rolling` accept (Gnocchi's AGG_MAP). */
const OPERATION_METHODS = ['mean', 'median', 'std', 'min', 'max', 'sum', 'var', 'count'];
const FILLS = ['null', 'dropna', 'ffill', 'bfill', 'full_ffill', 'full_bfill', '0', '-1.5'];
const CALENDAR = ['W', 'M', 'Q', 'H', 'Y'];
const UNARY = ['abs', 'neg', 'floor', 'ceil', 'cos', 'sin'];
const BINARY = ['+', '-', '*', '/', '**', 'mod', 'max', 'clip_min', 'clip_max', '>', 'ge', '!='];

export function generateCase(seed: number): Case {
  const random = seededRandom(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (p: number) => random() < p;

  // Two or three granularities, each a multiple of the finer one as Gnocchi's policies usually are.
  const granularities: number[] = [];
  let finest = pick(GRANULARITIES.slice(0, 5));
  for (let i = int(1, 3); i > 0; i--) {
    granularities.push(finest);
    finest *= pick([2, 5, 6, 10, 12]);
  }
  const methods = new Set<string>();
  for (const method of POLICY_METHODS) if (chance(0.5)) methods.add(method);
  if (chance(0.6)) methods.add(pick(PERCENTILES));
  for (let i = int(0, 2); i > 0; i--) methods.add(`rate:${pick([...POLICY_METHODS, ...PERCENTILES])}`);
  if (methods.size === 0) methods.add('mean');
  const policy: ArchivePolicy = {
    name: `diff-${seed}`,
    back_window: int(0, 2),
    definition: granularities.map((g) => ({ granularity: `${g}s`, points: int(4, 60) })),
    aggregation_methods: [...methods].sort(),
  };

  const metrics = int(1, 3);
  const subSecond = chance(0.4);
  const duplicates = chance(0.4);
  const finestMs = (granularities[0] as number) * 1000;
  const cursors = Array.from({ length: metrics }, () => BASE_MS + int(0, 20) * finestMs);
  const batches: Measure[][][] = [];
  for (let b = int(1, 4); b > 0; b--) {
    const batch: Measure[][] = [];
    for (let m = 0; m < metrics; m++) {
      const measures: Measure[] = [];
      let cursor = cursors[m] as number;
      for (let n = int(1, 30); n > 0; n--) {
        cursor += Math.floor(random() * finestMs * 3) + (subSecond ? int(0, 999) : 0);
        measures.push({
          timestamp: timestamp(cursor, subSecond && chance(0.3) ? int(1, 999) : 0),
          value: value(random),
        });
      }
      // Late points: before the back window of what earlier batches stored, or just inside it.
      if (batches.length > 0 && chance(0.4)) {
        for (let n = int(1, 3); n > 0; n--) {
          const back = int(0, 4) * (granularities.at(-1) as number) * 1000 + int(0, finestMs);
          measures.push({ timestamp: timestamp((cursors[m] as number) - back, 0), value: value(random) });
        }
      }
      if (duplicates && measures.length > 0) {
        for (let n = int(1, 3); n > 0; n--)
          measures.push({ timestamp: pick(measures).timestamp, value: value(random) });
      }
      if (chance(0.5)) shuffle(measures, random);
      cursors[m] = cursor;
      batch.push(measures);
    }
    batches.push(batch);
  }

  const reads: Read[] = [];
  for (let m = 0; m < metrics; m++) {
    const measures = (...query: [string, string][]) => reads.push({ kind: 'measures', metric: m, query });
    for (const method of policy.aggregation_methods) measures(['aggregation', method]);
    const method = pick(policy.aggregation_methods);
    for (const g of granularities) {
      measures(['aggregation', method], ['granularity', String(g)]);
      measures(
        ['aggregation', method],
        ['granularity', String(g)],
        ['resample', String(g * pick([2, 3, 5]))],
      );
    }
    measures(
      ['aggregation', method],
      ['granularity', String(pick(granularities))],
      ['resample', pick(CALENDAR)],
    );
    const from = BASE_MS + int(0, 40) * finestMs;
    measures(
      ['aggregation', method],
      ['start', new Date(from).toISOString()],
      ['stop', new Date(from + int(1, 40) * finestMs).toISOString()],
    );
  }

  const reference = (): Operation => ({
    metric: int(0, metrics - 1),
    aggregation: pick(policy.aggregation_methods),
  });
  const expression = (depth: number): Operation => {
    const roll = depth <= 0 ? 0 : random();
    if (roll < 0.3) return ['metric', reference()];
    if (roll < 0.45)
      return ['aggregate', pick(aggregateMethods(random)), ['metric', reference(), reference()]];
    if (roll < 0.6)
      return [
        'resample',
        pick(aggregateMethods(random)),
        `${pick(granularities) * pick([2, 3, 10])}s`,
        expression(depth - 1),
      ];
    if (roll < 0.7) return ['rolling', pick(aggregateMethods(random)), int(1, 4), expression(depth - 1)];
    if (roll < 0.8) return [pick(UNARY), expression(depth - 1)];
    return [pick(BINARY), expression(depth - 1), chance(0.5) ? expression(depth - 1) : int(-3, 5)];
  };
  for (let n = int(3, 8); n > 0; n--) {
    const query: [string, string][] = [];
    if (chance(0.8)) query.push(['fill', pick(FILLS)]);
    if (chance(0.3)) query.push(['needed_overlap', String(pick([0, 50, 100]))]);
    if (chance(0.5)) query.push(['granularity', String(pick(granularities))]);
    reads.push({ kind: 'aggregates', query, operations: expression(2) });
  }
  return { seed, policy, metrics, batches, reads };
}

function aggregateMethods(random: () => number): string[] {
  return random() < 0.2 ? OPERATION_METHODS.map((m) => `rate:${m}`) : OPERATION_METHODS;
}

/** ISO 8601 with milliseconds, and `micros` more microseconds when not 0. */
function timestamp(ms: number, micros: number): string {
  const iso = new Date(ms).toISOString();
  return micros === 0 ? iso : iso.replace('Z', `${String(micros).padStart(3, '0')}Z`);
}

/** Mostly small numbers with two decimals (as meters report them), sometimes negative or large. */
function value(random: () => number): number {
  const roll = random();
  if (roll < 0.1) return Math.round((random() - 0.5) * 2e6) / 100;
  if (roll < 0.2) return Math.round(random() * 10);
  return Math.round(random() * 10_000) / 100;
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}
