import type { IndexedPolicy, MetricDescription, MetricDirectory } from './policy-cache.ts';

/** The part of @granary/index's `Metrics` repository the processor reads. */
export interface IndexedMetrics {
  getMany(ids: readonly string[]): Promise<{ id: string; archivePolicy: IndexedPolicy }[]>;
  get(id: string): Promise<{ status: 'active' | 'delete' } | undefined>;
}

/**
 * The index as a MetricDirectory: active metrics in one query; the rare id it does not return is
 * asked for alone, to tell a metric being deleted (measures dropped, counted) from one the index
 * has never had (a dead letter).
 */
export function indexMetricDirectory(metrics: IndexedMetrics): MetricDirectory {
  return {
    async describe(metricIds) {
      const described = new Map<string, MetricDescription>();
      for (const metric of await metrics.getMany(metricIds)) {
        described.set(metric.id, { status: 'active', policy: metric.archivePolicy });
      }
      for (const id of metricIds) {
        if (described.has(id)) continue;
        const metric = await metrics.get(id);
        // Active but missed by getMany cannot happen: ingest creates a metric before producing to it.
        described.set(id, { status: metric?.status === 'delete' ? 'delete' : 'unknown' });
      }
      return described;
    },
  };
}
