import { pyFloatRepr } from '@granary/python-format';
import { described, invalidInput } from './errors.ts';

/** One archive of a policy, in seconds; points/timespan null means "keep forever". */
export interface ArchivePolicyItem {
  granularity: number;
  points: number | null;
  timespan: number | null;
}

/** An archive policy as the index stores it and the API shows it (durations in seconds). */
export interface ArchivePolicy {
  name: string;
  backWindow: number;
  definition: readonly ArchivePolicyItem[];
  /** Resolved method names (no `*`, `+m`, `-m`): what the processors compute. */
  aggregationMethods: string[];
}

/** Two of granularity/points/timespan per item, as Gnocchi accepts them (seconds). */
export interface ArchivePolicyItemInput {
  granularity?: number | null;
  points?: number | null;
  timespan?: number | null;
}

export interface ArchivePolicyInput {
  name: string;
  backWindow?: number;
  definition: readonly ArchivePolicyItemInput[];
  /** Method names, `*`, `+m`, `-m`; absent means the defaults. */
  aggregationMethods?: readonly string[];
}

/** Gnocchi's `[archive_policy] default_aggregation_methods`. */
export const DEFAULT_AGGREGATION_METHODS: readonly string[] = ['mean', 'min', 'max', 'sum', 'std', 'count'];

const AGGREGATION_METHOD = /^(?:rate:)?(?:mean|sum|last|max|min|std|median|first|count|[1-9][0-9]?pct)$/;

/**
 * THE seam for archive policy validation: structural checks and completion of items (two of
 * granularity/points/timespan give the third, as Gnocchi's ArchivePolicyItem). The full policy
 * semantics (method lists with `*`/`+m`/`-m`, policy-level limits) belong to `@granary/carbonara`;
 * when it lands, this function should delegate to it and keep its error mapping.
 */
export function validateArchivePolicy(input: ArchivePolicyInput): ArchivePolicy {
  if (typeof input.name !== 'string' || input.name.length === 0 || input.name.length > 255) {
    throw invalidInput('INDEX_INVALID_ARCHIVE_POLICY', 'length of value must be between 1 and 255', ['name']);
  }
  const backWindow = input.backWindow ?? 0;
  if (!Number.isSafeInteger(backWindow) || backWindow < 0) {
    throw invalidInput('INDEX_INVALID_ARCHIVE_POLICY', 'value must be at least 0', ['back_window']);
  }
  if (!Array.isArray(input.definition) || input.definition.length === 0) {
    throw invalidInput('INDEX_INVALID_ARCHIVE_POLICY', 'length of value must be at least 1', ['definition']);
  }
  const definition = input.definition.map(completeItem);
  const seen = new Set<number>();
  for (const item of definition) {
    if (seen.has(item.granularity)) {
      throw described(
        'INDEX_INVALID_ARCHIVE_POLICY',
        `More than one archive policy uses granularity \`${pyFloatRepr(item.granularity)}'`,
      );
    }
    seen.add(item.granularity);
  }
  const aggregationMethods = [...new Set(input.aggregationMethods ?? DEFAULT_AGGREGATION_METHODS)];
  aggregationMethods.forEach((method, i) => {
    if (typeof method !== 'string' || !AGGREGATION_METHOD.test(method)) {
      throw invalidInput('INDEX_INVALID_ARCHIVE_POLICY', 'not a valid aggregation method', [
        'aggregation_methods',
        i,
      ]);
    }
  });
  return { name: input.name, backWindow, definition, aggregationMethods };
}

function completeItem(item: ArchivePolicyItemInput, index: number): ArchivePolicyItem {
  const path = (key: string) => ['definition', index, key];
  const { granularity = null, points = null, timespan = null } = item;
  if (granularity !== null && !(Number.isFinite(granularity) && granularity > 0)) {
    throw invalidInput('INDEX_INVALID_ARCHIVE_POLICY', 'Timespan must be positive', path('granularity'));
  }
  if (points !== null && !(Number.isSafeInteger(points) && points >= 1)) {
    throw invalidInput('INDEX_INVALID_ARCHIVE_POLICY', 'value must be at least 1', path('points'));
  }
  if (timespan !== null && !(Number.isFinite(timespan) && timespan > 0)) {
    throw invalidInput('INDEX_INVALID_ARCHIVE_POLICY', 'Timespan must be positive', path('timespan'));
  }
  if (granularity !== null && points !== null && timespan !== null) {
    if (Math.abs(timespan - granularity * points) > 1e-9 * timespan) {
      throw described('INDEX_INVALID_ARCHIVE_POLICY', 'timespan ≠ granularity × points');
    }
    return { granularity, points, timespan };
  }
  if (granularity === null) {
    if (points === null || timespan === null) {
      throw described(
        'INDEX_INVALID_ARCHIVE_POLICY',
        'At least two of granularity/points/timespan must be provided',
      );
    }
    return { granularity: timespan / points, points, timespan };
  }
  if (points !== null) return { granularity, points, timespan: granularity * points };
  if (timespan === null) return { granularity, points: null, timespan: null };
  const computed = Math.floor(timespan / granularity);
  if (computed <= 0) throw described('INDEX_INVALID_ARCHIVE_POLICY', 'Calculated number of points is < 0');
  return { granularity, points: computed, timespan: granularity * computed };
}

/** Gnocchi's default policies, created by the `defaults` seed (gnocchi.md §2). */
export const GNOCCHI_DEFAULT_ARCHIVE_POLICIES: readonly ArchivePolicyInput[] = [
  {
    name: 'bool',
    backWindow: 3600,
    definition: [{ granularity: 1, points: 31_536_000 }],
    aggregationMethods: ['last'],
  },
  { name: 'low', definition: [{ granularity: 300, points: 8640 }] },
  {
    name: 'medium',
    definition: [
      { granularity: 60, points: 10_080 },
      { granularity: 3600, points: 8760 },
    ],
  },
  {
    name: 'high',
    definition: [
      { granularity: 1, points: 3600 },
      { granularity: 60, points: 10_080 },
      { granularity: 3600, points: 8760 },
    ],
  },
];

export const GNOCCHI_DEFAULT_ARCHIVE_POLICY_RULE = {
  name: 'default',
  metricPattern: '*',
  archivePolicyName: 'low',
};
