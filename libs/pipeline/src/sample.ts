import type { Sample } from '@granary/schema';
import { toCeilometerTimestamp } from '@granary/telemetry';

/**
 * A sample inside the pipeline: the Avro `Sample` fields with the metadata parsed once, and
 * without the signature, which stops meaning anything once a transformer has touched the sample.
 */
export type MeterSample = Omit<Sample, 'resource_metadata' | 'message_signature'> & {
  resource_metadata: Record<string, unknown>;
};

/**
 * Ceilometer's `Sample.as_dict()`, which its transformer expressions (and the Gnocchi publisher's
 * attribute paths) are evaluated over: `volume`, `resource_metadata.cpu_number`, …
 */
export function sampleNamespace(sample: MeterSample): Record<string, unknown> {
  return {
    name: sample.counter_name,
    type: sample.counter_type,
    unit: sample.counter_unit,
    volume: sample.counter_volume,
    user_id: sample.user_id,
    project_id: sample.project_id,
    user_name: sample.user_name,
    project_name: sample.project_name,
    resource_id: sample.resource_id,
    timestamp: toCeilometerTimestamp(sample.timestamp),
    resource_metadata: sample.resource_metadata,
    source: sample.source,
    id: sample.message_id,
    monotonic_time: sample.monotonic_time,
  };
}
