import type { AvroSchema, MeasureBatch, Sample } from '@granary/schema';
import { sampleSchema } from '@granary/schema';

export function aSample(overrides: Partial<Sample> = {}): Sample {
  return {
    counter_name: 'cpu',
    counter_type: 'cumulative',
    counter_unit: 'ns',
    counter_volume: 1.5e12,
    user_id: 'u-1',
    project_id: 'p-1',
    user_name: null,
    project_name: 'demo',
    resource_id: 'a8f0ac4c-2d8f-4ee8-8b4c-3f7e3e9d1a11',
    // Beyond 2^32 and with sub-millisecond digits: microseconds must survive exactly.
    timestamp: 1_767_268_800_123_456,
    resource_metadata: JSON.stringify({ flavor: { name: 'm1.small' }, host: 'compute-1' }),
    source: 'openstack',
    message_id: '5c1fa6e2-c71e-11ef-9f49-0242ac120002',
    monotonic_time: 12345.678,
    message_signature: 'f'.repeat(64),
    ...overrides,
  };
}

export function aMeasureBatch(points = 100): MeasureBatch {
  const start = 1_767_268_800_000_000;
  return {
    metric_id: '0b8a2a8e-54d2-4a43-9d2a-1f5b9f0c7e21',
    timestamps: Array.from({ length: points }, (_, i) => start + i * 1_000_001),
    values: Array.from({ length: points }, (_, i) => Math.sin(i) * 1000),
  };
}

/**
 * `Sample` as Mitaka-era Ceilometer sent it: no user_name, project_name or monotonic_time. Records
 * written with it must stay readable after the current schema is registered (BACKWARD).
 */
export const mitakaSampleSchema: AvroSchema<Omit<Sample, 'user_name' | 'project_name' | 'monotonic_time'>> = {
  name: sampleSchema.name,
  file: 'mitaka-sample (test only)',
  definition: {
    ...sampleSchema.definition,
    fields: (sampleSchema.definition.fields as Array<{ name: string }>).filter(
      (field) => !['user_name', 'project_name', 'monotonic_time'].includes(field.name),
    ),
  },
};

/** `aSample()` as Mitaka-era Ceilometer sent it, without the fields `mitakaSampleSchema` lacks. */
export function aMitakaSample(): Omit<Sample, 'user_name' | 'project_name' | 'monotonic_time'> {
  const { user_name: _u, project_name: _p, monotonic_time: _m, ...sample } = aSample();
  return sample;
}

/** A Mitaka-era sample as the current schema reads it: the fields it lacked at their defaults. */
export const readAsCurrent = (sample: ReturnType<typeof aMitakaSample>): Sample => ({
  ...sample,
  user_name: null,
  project_name: null,
  monotonic_time: null,
});
