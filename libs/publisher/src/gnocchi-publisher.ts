import { GranaryError } from '@granary/errors';
import type { MeterSample } from '@granary/pipeline';
import type { MeasureBatch } from '@granary/schema';
import type { MappedSample, MeterMapper } from './definitions.ts';
import { publisherErrors } from './errors.ts';
import type { MetricResolver, ResourceRequest } from './resolver.ts';

/** A sample to publish, with the publisher URL's `archive_policy` when its sink set one. */
export interface PublishItem {
  sample: MeterSample;
  archivePolicyOverride?: string;
}

export interface PublishResult {
  /** One batch per metric, measures in sample order. */
  batches: MeasureBatch[];
  /** Samples whose resource or metric the index refused, with why. */
  refused: Array<{ sample: MeterSample; error: GranaryError }>;
  /** Samples of meters no resource type takes (Ceilometer skips them with one warning per meter). */
  unmapped: MeterSample[];
}

/**
 * Ceilometer's Gnocchi publisher on Granary: samples grouped by resource, resources and metrics
 * resolved (created once, patched only on change), measures grouped per metric for
 * `granary.measures`. The attributes sent for a resource are those of its last sample.
 */
export class GnocchiPublisher {
  constructor(
    private readonly mapper: MeterMapper,
    private readonly resolver: MetricResolver,
  ) {}

  async publish(items: readonly PublishItem[]): Promise<PublishResult> {
    const unmapped: MeterSample[] = [];
    const refused: PublishResult['refused'] = [];
    const byResource = new Map<
      string,
      { request: ResourceRequest; samples: Array<[MeterSample, MappedSample]> }
    >();
    for (const { sample, archivePolicyOverride } of items) {
      let mapped: MappedSample | undefined;
      try {
        mapped = this.mapper.map(sample, archivePolicyOverride);
      } catch (error) {
        // Mapping reads only this sample (its metadata through the definitions): whatever fails
        // here is the sample's problem, refused like a resource the index refuses.
        refused.push({ sample, error: asMappingFailure(sample, error) });
        continue;
      }
      if (!mapped) {
        unmapped.push(sample);
        continue;
      }
      const key = `${mapped.resourceType}\0${mapped.resourceId}`;
      let group = byResource.get(key);
      if (!group) {
        group = { request: { ...mapped, metrics: new Map() }, samples: [] };
        byResource.set(key, group);
      }
      const metrics = group.request.metrics as Map<string, { archivePolicyName: string; unit: string }>;
      if (!metrics.has(mapped.metricName))
        metrics.set(mapped.metricName, { archivePolicyName: mapped.archivePolicyName, unit: mapped.unit });
      group.request.attributes = mapped.attributes;
      group.request.userId = mapped.userId;
      group.request.projectId = mapped.projectId;
      group.samples.push([sample, mapped]);
    }

    const groups = [...byResource.values()];
    const resolved = await this.resolver.resolve(groups.map((g) => g.request));
    const batches = new Map<string, MeasureBatch>();
    groups.forEach((group, i) => {
      const outcome = resolved[i]!;
      for (const [sample, mapped] of group.samples) {
        if (!outcome.ok) {
          refused.push({ sample, error: outcome.error });
          continue;
        }
        const metricId = outcome.metricIds.get(mapped.metricName)!;
        let batch = batches.get(metricId);
        if (!batch) {
          batch = { metric_id: metricId, timestamps: [], values: [] };
          batches.set(metricId, batch);
        }
        batch.timestamps.push(sample.timestamp);
        batch.values.push(sample.counter_volume);
      }
    });
    return { batches: [...batches.values()], refused, unmapped };
  }
}

function asMappingFailure(sample: MeterSample, error: unknown): GranaryError {
  if (error instanceof GranaryError) return error;
  const problem = error instanceof Error ? error.message : String(error);
  return publisherErrors('PUBLISHER_INVALID_SAMPLE', `sample ${sample.message_id}: ${problem}`, {
    cause: error,
  });
}
