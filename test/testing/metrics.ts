import type { Registry } from '@granary/observability';

/**
 * The value `registry` exports for `name` on the first series carrying `labels` (a subset of its
 * labels), 0 when there is none: what a scrape of `/metrics` would show, for counters and gauges.
 */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  const series = (await metric.get()).values.find((v) =>
    Object.entries(labels).every(([key, value]) => v.labels[key] === value),
  );
  return series?.value ?? 0;
}
