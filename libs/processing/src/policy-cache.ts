import { type ArchivePolicy, createArchivePolicy } from '@granary/carbonara';
import { processingErrors } from './errors.ts';

/** An archive policy as the index stores it: durations in seconds. */
export interface IndexedPolicy {
  readonly name: string;
  readonly backWindow: number;
  readonly definition: readonly {
    readonly granularity: number;
    readonly points: number | null;
    readonly timespan: number | null;
  }[];
  readonly aggregationMethods: readonly string[];
}

/** What the index says about a metric the processor has measures for. */
export type MetricDescription =
  | { readonly status: 'active'; readonly policy: IndexedPolicy }
  | { readonly status: 'delete' }
  | { readonly status: 'unknown' };

/** The index seen from the processor: a batched look-up of metric status and policy. */
export interface MetricDirectory {
  /** One entry per requested id. */
  describe(metricIds: readonly string[]): Promise<Map<string, MetricDescription>>;
}

/** A carbonara policy with what the apply path needs precomputed. */
export interface CompiledPolicy {
  readonly policy: ArchivePolicy;
  /** Raw blocks kept before the last one: the back window, plus one when a `rate:` method needs a seed. */
  readonly rawBackWindow: number;
}

export type MetricEntry =
  | { readonly status: 'active'; readonly compiled: CompiledPolicy }
  | { readonly status: 'delete' }
  | { readonly status: 'unknown' };

const US_PER_SECOND = 1_000_000;

/** Seconds (possibly fractional, e.g. 0.2) to whole microseconds, as carbonara counts time. */
const micros = (seconds: number): number => Math.round(seconds * US_PER_SECOND);

export function compilePolicy(indexed: IndexedPolicy): CompiledPolicy {
  let policy: ArchivePolicy;
  try {
    policy = createArchivePolicy({
      name: indexed.name,
      backWindow: indexed.backWindow,
      definition: indexed.definition.map((item) => ({
        granularity: micros(item.granularity),
        points: item.points ?? undefined,
        timespan: item.points === null && item.timespan !== null ? micros(item.timespan) : undefined,
      })),
      aggregationMethods: indexed.aggregationMethods,
    });
  } catch (cause) {
    throw processingErrors('PROCESSING_INVALID_POLICY', indexed.name, { cause });
  }
  return {
    policy,
    rawBackWindow:
      policy.backWindow + (policy.aggregationMethods.some((method) => method.startsWith('rate:')) ? 1 : 0),
  };
}

/**
 * Metric → status and compiled policy, looked up in the index once per metric and kept: a metric's
 * policy never changes in Gnocchi (a rebuild looks it up again, to pick up an edited definition).
 * Compiled policies, and the entries holding them, are shared by name and definition.
 */
export class PolicyCache {
  private readonly entries = new Map<string, MetricEntry>();
  /** One entry per distinct policy, shared by its metrics (an object per metric is ~50 B at 1M metrics). */
  private readonly activeEntries = new Map<string, MetricEntry>();

  constructor(private readonly directory: MetricDirectory) {}

  get(metricId: string): MetricEntry | undefined {
    return this.entries.get(metricId);
  }

  /** Look up every id not cached yet, in one directory call. */
  async resolve(metricIds: Iterable<string>): Promise<void> {
    const missing = [...new Set(metricIds)].filter((id) => !this.entries.has(id));
    if (missing.length === 0) return;
    const described = await this.directory.describe(missing);
    for (const id of missing) {
      const description = described.get(id) ?? { status: 'unknown' };
      this.entries.set(
        id,
        description.status === 'active' ? this.activeEntry(description.policy) : description,
      );
    }
  }

  /** Look the metric up again (a rebuild picks up a changed archive policy). */
  async refresh(metricId: string): Promise<MetricEntry> {
    this.entries.delete(metricId);
    await this.resolve([metricId]);
    return this.entries.get(metricId) as MetricEntry;
  }

  /** The janitor expunged it: later measures are counted drops, and compaction skips it. */
  markDeleted(metricId: string): void {
    this.entries.set(metricId, { status: 'delete' });
  }

  private activeEntry(indexed: IndexedPolicy): MetricEntry {
    const key = JSON.stringify(indexed);
    let entry = this.activeEntries.get(key);
    if (!entry) {
      entry = { status: 'active', compiled: compilePolicy(indexed) };
      this.activeEntries.set(key, entry);
    }
    return entry;
  }
}
