import { partitionFor } from '@granary/kafka';
import type { Logger } from '@granary/observability';
import { type ObjectStore, deleteMetric } from '@granary/storage';
import type { PolicyCache } from './policy-cache.ts';
import type { Processor } from './processor.ts';

/** The part of @granary/index's `Metrics` repository the janitor uses. */
export interface DeletedMetrics {
  listDeleted(limit: number): Promise<{ id: string }[]>;
  expunge(ids: readonly string[]): Promise<number>;
}

export interface JanitorDeps {
  readonly metrics: DeletedMetrics;
  readonly store: ObjectStore;
  readonly processor: Processor;
  readonly policies: PolicyCache;
  readonly partitionCount: number;
  readonly batchSize: number;
  readonly logger: Logger;
}

/**
 * Gnocchi's janitor for the metrics of the partitions this processor owns: a metric in status
 * `delete` loses its in-memory state, its compacted objects and then its index row. Its deltas
 * still in live segments are skipped by compaction (the cache now says deleted), and measures
 * arriving later are counted drops. Returns how many metrics were expunged.
 */
export async function runJanitor(deps: JanitorDeps): Promise<number> {
  const owned = new Set(deps.processor.partitions);
  const mine = (await deps.metrics.listDeleted(deps.batchSize))
    .map(({ id }) => ({ id, partition: partitionFor(id, deps.partitionCount) }))
    .filter(({ partition }) => owned.has(partition));
  for (const { id, partition } of mine) {
    deps.processor.forgetMetric(partition, id);
    deps.policies.markDeleted(id);
    await deleteMetric(deps.store, id);
  }
  if (mine.length === 0) return 0;
  const expunged = await deps.metrics.expunge(mine.map(({ id }) => id));
  deps.logger.info({ expunged }, 'janitor expunged deleted metrics');
  return expunged;
}
