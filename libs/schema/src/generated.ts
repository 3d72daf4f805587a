// Generated from schemas/*.avsc by libs/schema/generate.ts. Do not edit: change the .avsc file and run
// `npm run generate -w @granary/schema`; libs/schema/test/generated.test.ts fails while this is stale.

import type { AvroSchema } from './avro-schema.ts';

/** Measures of one metric, columnar. Produced by ingest and the API to granary.measures, keyed by metric_id; timestamps[i] goes with values[i]. */
export interface MeasureBatch {
  /** Gnocchi metric id (UUID text, lower case); also the Kafka record key, so a metric's batches stay in one partition and in order. */
  metric_id: string;
  /** Time of each measure, epoch microseconds UTC; same length as values. Not necessarily sorted. */
  timestamps: number[];
  /** Value of each measure; same length as timestamps. */
  values: number[];
}

/** How successive volumes relate: a point value, a change since the previous sample, or a running total. */
export type CounterType = 'gauge' | 'delta' | 'cumulative';

/** One metering sample, as Ceilometer's publisher utils meter_message_from_counter builds it (sample.py). Produced by pollers to granary.samples, keyed by resource_id. */
export interface Sample {
  /** Meter name, e.g. 'cpu' or 'disk.device.read.bytes' (Ceilometer Sample.name). */
  counter_name: string;
  /** Meter type (Ceilometer Sample.type); Ceilometer rejects any other value. */
  counter_type: CounterType;
  /** Unit of counter_volume, e.g. 'ns', 'B', 'B/s', 'instance' (Ceilometer Sample.unit). */
  counter_unit: string;
  /** The measured value (Ceilometer Sample.volume). */
  counter_volume: number;
  /** Keystone user that owns the resource; null when the resource has no user. */
  user_id: null | string;
  /** Keystone project that owns the resource; null when the resource has no project. */
  project_id: null | string;
  /** Name of user_id, when the poller resolved it (Ceilometer 2023.1+); null otherwise. */
  user_name: null | string;
  /** Name of project_id, when the poller resolved it (Ceilometer 2023.1+); null otherwise. */
  project_name: null | string;
  /** Identifier of the measured resource (instance UUID, volume id, ...); also the Kafka record key. */
  resource_id: string;
  /** When the sample was taken, epoch microseconds UTC. Ceilometer's naive ISO timestamps are read as UTC. */
  timestamp: number;
  /** Resource attributes at sampling time (flavor, image, host, ...), as JSON object text; '{}' when there are none. (No schema default: Apicurio Registry 3 rejects a schema whose string default is '{}'.) */
  resource_metadata: string;
  /** Origin of the sample ([DEFAULT]sample_source in Ceilometer, 'openstack' by default). */
  source: string;
  /** Unique id of the sample (Ceilometer Sample.id, a uuid1 string); lets consumers recognise a replayed sample. */
  message_id: string;
  /** Poller's monotonic clock in seconds when the sample was taken (Ceilometer Pike+), used to compute rates across clock changes; null when unknown. */
  monotonic_time: null | number;
  /** Ceilometer-compatible HMAC-SHA256 hex digest over the other fields with the telemetry secret; '' when signing is off (empty secret). */
  message_signature: string;
}

/** `schemas/measure-batch.avsc`. */
export const measureBatchSchema: AvroSchema<MeasureBatch> = {
  name: 'org.granary.MeasureBatch',
  file: 'measure-batch.avsc',
  definition: {
    type: 'record',
    name: 'MeasureBatch',
    namespace: 'org.granary',
    doc: 'Measures of one metric, columnar. Produced by ingest and the API to granary.measures, keyed by metric_id; timestamps[i] goes with values[i].',
    fields: [
      {
        name: 'metric_id',
        type: { type: 'string', logicalType: 'uuid' },
        doc: "Gnocchi metric id (UUID text, lower case); also the Kafka record key, so a metric's batches stay in one partition and in order.",
      },
      {
        name: 'timestamps',
        type: { type: 'array', items: { type: 'long', logicalType: 'timestamp-micros' } },
        doc: 'Time of each measure, epoch microseconds UTC; same length as values. Not necessarily sorted.',
      },
      {
        name: 'values',
        type: { type: 'array', items: 'double' },
        doc: 'Value of each measure; same length as timestamps.',
      },
    ],
  },
};

/** `schemas/sample.avsc`. */
export const sampleSchema: AvroSchema<Sample> = {
  name: 'org.granary.Sample',
  file: 'sample.avsc',
  definition: {
    type: 'record',
    name: 'Sample',
    namespace: 'org.granary',
    doc: "One metering sample, as Ceilometer's publisher utils meter_message_from_counter builds it (sample.py). Produced by pollers to granary.samples, keyed by resource_id.",
    fields: [
      {
        name: 'counter_name',
        type: 'string',
        doc: "Meter name, e.g. 'cpu' or 'disk.device.read.bytes' (Ceilometer Sample.name).",
      },
      {
        name: 'counter_type',
        type: {
          type: 'enum',
          name: 'CounterType',
          doc: 'How successive volumes relate: a point value, a change since the previous sample, or a running total.',
          symbols: ['gauge', 'delta', 'cumulative'],
        },
        doc: 'Meter type (Ceilometer Sample.type); Ceilometer rejects any other value.',
      },
      {
        name: 'counter_unit',
        type: 'string',
        doc: "Unit of counter_volume, e.g. 'ns', 'B', 'B/s', 'instance' (Ceilometer Sample.unit).",
      },
      { name: 'counter_volume', type: 'double', doc: 'The measured value (Ceilometer Sample.volume).' },
      {
        name: 'user_id',
        type: ['null', 'string'],
        default: null,
        doc: 'Keystone user that owns the resource; null when the resource has no user.',
      },
      {
        name: 'project_id',
        type: ['null', 'string'],
        default: null,
        doc: 'Keystone project that owns the resource; null when the resource has no project.',
      },
      {
        name: 'user_name',
        type: ['null', 'string'],
        default: null,
        doc: 'Name of user_id, when the poller resolved it (Ceilometer 2023.1+); null otherwise.',
      },
      {
        name: 'project_name',
        type: ['null', 'string'],
        default: null,
        doc: 'Name of project_id, when the poller resolved it (Ceilometer 2023.1+); null otherwise.',
      },
      {
        name: 'resource_id',
        type: 'string',
        doc: 'Identifier of the measured resource (instance UUID, volume id, ...); also the Kafka record key.',
      },
      {
        name: 'timestamp',
        type: { type: 'long', logicalType: 'timestamp-micros' },
        doc: "When the sample was taken, epoch microseconds UTC. Ceilometer's naive ISO timestamps are read as UTC.",
      },
      {
        name: 'resource_metadata',
        type: 'string',
        doc: "Resource attributes at sampling time (flavor, image, host, ...), as JSON object text; '{}' when there are none. (No schema default: Apicurio Registry 3 rejects a schema whose string default is '{}'.)",
      },
      {
        name: 'source',
        type: 'string',
        default: 'openstack',
        doc: "Origin of the sample ([DEFAULT]sample_source in Ceilometer, 'openstack' by default).",
      },
      {
        name: 'message_id',
        type: 'string',
        doc: 'Unique id of the sample (Ceilometer Sample.id, a uuid1 string); lets consumers recognise a replayed sample.',
      },
      {
        name: 'monotonic_time',
        type: ['null', 'double'],
        default: null,
        doc: "Poller's monotonic clock in seconds when the sample was taken (Ceilometer Pike+), used to compute rates across clock changes; null when unknown.",
      },
      {
        name: 'message_signature',
        type: 'string',
        default: '',
        doc: "Ceilometer-compatible HMAC-SHA256 hex digest over the other fields with the telemetry secret; '' when signing is off (empty secret).",
      },
    ],
  },
};
