import { carbonaraErrors } from './errors.ts';
import { expandMethodList } from './methods.ts';
import { US_PER_SECOND } from './time.ts';

/** One definition line as a user gives it: any two of the three (µs for durations). */
export interface ArchivePolicyItemInput {
  readonly granularity?: number | undefined;
  readonly points?: number | undefined;
  readonly timespan?: number | undefined;
}

export interface ArchivePolicyInput {
  readonly name: string;
  readonly backWindow?: number | undefined;
  readonly definition: readonly ArchivePolicyItemInput[];
  /** Method names, `*`, `+m`, `-m`; omitted means Gnocchi's defaults. */
  readonly aggregationMethods?: readonly string[] | undefined;
}

/** A resolved definition line; `points`/`timespan` are null when the granularity is kept forever. */
export interface ArchivePolicyItem {
  readonly granularity: number;
  readonly points: number | null;
  readonly timespan: number | null;
}

/** One aggregated series a policy maintains: a method at a granularity, with its retention. */
export interface Aggregation {
  readonly method: string;
  readonly granularity: number;
  readonly timespan: number | null;
}

export interface ArchivePolicy {
  readonly name: string;
  readonly backWindow: number;
  readonly definition: readonly ArchivePolicyItem[];
  readonly aggregationMethods: readonly string[];
  /** The largest granularity: the raw tail's block size. */
  readonly maxBlockSize: number;
  /** Every (method, granularity) pair, by definition order then method order. */
  readonly aggregations: readonly Aggregation[];
}

function invalid(detail: string): never {
  throw carbonaraErrors('CARBONARA_INVALID_POLICY', detail);
}

function isPositiveInteger(value: number | undefined): value is number {
  return value !== undefined && Number.isSafeInteger(value) && value > 0;
}

/** Resolves one definition line with Gnocchi's rules (`ArchivePolicyItem.__init__`). */
function resolveItem(item: ArchivePolicyItemInput): ArchivePolicyItem {
  const { granularity, points, timespan } = item;
  if (granularity === undefined && (points === undefined || timespan === undefined)) {
    invalid('at least two of granularity/points/timespan must be provided');
  }
  if (granularity !== undefined && !isPositiveInteger(granularity)) {
    invalid(`granularity should be a positive number of microseconds, got ${granularity}`);
  }
  if (points !== undefined && !isPositiveInteger(points)) {
    invalid(`number of points should be a positive integer, got ${points}`);
  }
  if (timespan !== undefined && !isPositiveInteger(timespan)) {
    invalid(`timespan should be a positive number of microseconds, got ${timespan}`);
  }
  if (granularity !== undefined && points !== undefined && timespan !== undefined) {
    if (timespan !== granularity * points) invalid('timespan ≠ granularity × points');
  }
  const resolvedGranularity = granularity ?? Math.round((timespan as number) / (points as number));
  if (resolvedGranularity <= 0) invalid('calculated granularity is not positive');
  if (points !== undefined) {
    return { granularity: resolvedGranularity, points, timespan: resolvedGranularity * points };
  }
  if (timespan === undefined) return { granularity: resolvedGranularity, points: null, timespan: null };
  const resolvedPoints = Math.floor(timespan / resolvedGranularity);
  if (resolvedPoints <= 0) invalid('calculated number of points is not positive');
  return {
    granularity: resolvedGranularity,
    points: resolvedPoints,
    timespan: resolvedGranularity * resolvedPoints,
  };
}

/** Validates and resolves a policy; throws CARBONARA_INVALID_POLICY or CARBONARA_UNKNOWN_METHOD. */
export function createArchivePolicy(input: ArchivePolicyInput): ArchivePolicy {
  const backWindow = input.backWindow ?? 0;
  if (!Number.isSafeInteger(backWindow) || backWindow < 0) {
    invalid(`back window should be a non-negative integer, got ${backWindow}`);
  }
  if (input.definition.length === 0) invalid('the definition needs at least one granularity');
  const definition = input.definition.map(resolveItem);
  const granularities = new Set(definition.map((item) => item.granularity));
  if (granularities.size !== definition.length) {
    invalid('more than one definition line uses the same granularity');
  }
  const aggregationMethods = expandMethodList(input.aggregationMethods ?? []);
  return {
    name: input.name,
    backWindow,
    definition,
    aggregationMethods,
    maxBlockSize: Math.max(...granularities),
    aggregations: definition.flatMap((item) =>
      aggregationMethods.map((method) => ({
        method,
        granularity: item.granularity,
        timespan: item.timespan,
      })),
    ),
  };
}

const SECOND = US_PER_SECOND;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export type DefaultArchivePolicyName =
  | 'bool'
  | 'low'
  | 'medium'
  | 'high'
  | 'ceilometer-low'
  | 'ceilometer-low-rate'
  | 'ceilometer-high'
  | 'ceilometer-high-rate';

/** Policies `gnocchi-upgrade` creates (`low`, `medium`, `high`, `bool`) and Ceilometer's four. */
export const DEFAULT_ARCHIVE_POLICIES = Object.fromEntries(
  (
    [
      {
        name: 'bool',
        backWindow: 3600,
        definition: [{ granularity: SECOND, points: 31_536_000 }],
        aggregationMethods: ['last'],
      },
      { name: 'low', definition: [{ granularity: 5 * MINUTE, points: 8640 }] },
      {
        name: 'medium',
        definition: [
          { granularity: MINUTE, points: 10_080 },
          { granularity: HOUR, points: 8760 },
        ],
      },
      {
        name: 'high',
        definition: [
          { granularity: SECOND, points: 3600 },
          { granularity: MINUTE, points: 10_080 },
          { granularity: HOUR, points: 8760 },
        ],
      },
      {
        name: 'ceilometer-low',
        definition: [{ granularity: 5 * MINUTE, timespan: 30 * DAY }],
        aggregationMethods: ['mean'],
      },
      {
        name: 'ceilometer-low-rate',
        definition: [{ granularity: 5 * MINUTE, timespan: 30 * DAY }],
        aggregationMethods: ['mean', 'rate:mean'],
      },
      {
        name: 'ceilometer-high',
        definition: [
          { granularity: SECOND, timespan: HOUR },
          { granularity: MINUTE, timespan: DAY },
          { granularity: HOUR, timespan: 365 * DAY },
        ],
        aggregationMethods: ['mean'],
      },
      {
        name: 'ceilometer-high-rate',
        definition: [
          { granularity: SECOND, timespan: HOUR },
          { granularity: MINUTE, timespan: DAY },
          { granularity: HOUR, timespan: 365 * DAY },
        ],
        aggregationMethods: ['mean', 'rate:mean'],
      },
    ] satisfies (ArchivePolicyInput & { name: DefaultArchivePolicyName })[]
  ).map((input) => [input.name, createArchivePolicy(input)]),
) as Readonly<Record<DefaultArchivePolicyName, ArchivePolicy>>;
