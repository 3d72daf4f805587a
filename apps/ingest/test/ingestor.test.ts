import { randomUUID } from 'node:crypto';
import { type Index, type Resource, type ResourceCreate, indexError, resourceUuid } from '@granary/index';
import type { ConsumedRecord, OutgoingRecord, RecordBatch } from '@granary/kafka';
import { DEAD_LETTER_HEADERS } from '@granary/kafka';
import { NotificationMeters, parseMeterDefinitions } from '@granary/notification-meters';
import { createLogger, createRegistry, prometheusInstruments } from '@granary/observability';
import { SamplePipeline, parsePipelineConfig } from '@granary/pipeline';
import { GnocchiPublisher, MeterMapper, MetricResolver, parseResourceDefinitions } from '@granary/publisher';
import { parsePythonJson } from '@granary/python-format';
import {
  type DecodeOutcome,
  type MeasureBatch,
  type Sample,
  measuresWriter,
  schemaErrors,
} from '@granary/schema';
import { computeSignature } from '@granary/telemetry';
import { describe, expect, it } from 'vitest';
import { Ingestor, createIngestMetrics } from '../index.ts';

const SECRET = 'unit secret';
const DEFINITIONS = parseResourceDefinitions(`
resources:
  - resource_type: host
    metrics: {hardware.memory.used: , memory_util: }
    attributes: {host_name: resource_metadata.resource_url}
`);

/** A host meter made from a made-up service's notification, mapped by DEFINITIONS above. */
const METERS = parseMeterDefinitions(
  `
metric:
  - name: hardware.memory.used
    event_type: node.report.*
    type: gauge
    unit: KB
    volume: $.payload.used_kb
    resource_id: $.payload.node
    metadata: {resource_url: $.payload.node}
  - name: memory_util
    event_type: node.report.*
    type: gauge
    unit: '%'
    volume: $.payload.used_kb
    resource_id: $.payload.node
`,
  'unit meters',
);

/** The resource calls the resolver makes, over a map; a missing host_name is refused as the index does. */
function memoryIndex(): Pick<Index, 'resources'> {
  const resources = new Map<string, Resource>();
  const resource = (input: ResourceCreate, id: string): Resource => ({
    id,
    type: input.type,
    creator: input.creator,
    originalResourceId: input.id,
    startedAt: 0,
    endedAt: null,
    userId: null,
    projectId: null,
    revisionStart: 0,
    revisionEnd: null,
    revision: -1,
    attributes: input.attributes as Resource['attributes'],
    metrics: Object.fromEntries(Object.keys(input.metrics ?? {}).map((name) => [name, randomUUID()])),
  });
  const fake = {
    get: async (_type: string, id: string) => resources.get(id),
    create: async (input: ResourceCreate) => {
      if (!input.attributes?.host_name) throw indexError('INDEX_INVALID_RESOURCE', 'host_name is required');
      const id = resourceUuid(input.id, input.creator);
      resources.set(id, resource(input, id));
      return resources.get(id)!;
    },
  };
  return { resources: fake as unknown as Index['resources'] };
}

let offset = 0;
const record = (topic: string, value: string | Buffer): ConsumedRecord => ({
  topic,
  partition: 0,
  offset: String(offset++),
  key: null,
  value: Buffer.isBuffer(value) ? value : Buffer.from(value),
  headers: {},
  timestamp: '0',
});

function oslo(
  meters: Array<{ volume: string; forge?: boolean; resource?: string; metadata?: string }>,
): string {
  const texts = meters.map(
    ({ volume, forge, resource = 'node-1', metadata = `{"resource_url": "${resource}"}` }) => {
      const body = `"counter_name": "hardware.memory.used", "counter_type": "gauge", "counter_unit": "KB", "counter_volume": ${volume}, "resource_id": "${resource}", "timestamp": "2026-01-01T00:00:00", "resource_metadata": ${metadata}, "message_id": "${randomUUID()}", "user_id": null, "project_id": null, "source": "hardware"`;
      const signature = computeSignature(parsePythonJson(`{${body}}`) as never, forge ? 'wrong' : SECRET);
      return `{${body}, "message_signature": "${signature}"}`;
    },
  );
  return JSON.stringify({
    'oslo.version': '2.0',
    'oslo.message': `{"event_type": "telemetry.polling", "payload": {"samples": [${texts.join(', ')}]}}`,
  });
}

function ingestor(options: {
  pipeline?: string;
  decodeAll?: (values: Buffer[]) => Promise<DecodeOutcome<Sample>[]>;
}) {
  const sent: OutgoingRecord[][] = [];
  const send = async (records: readonly OutgoingRecord[]) => {
    sent.push([...records]);
  };
  const registry = createRegistry('ingest-unit');
  const metrics = createIngestMetrics(prometheusInstruments(registry));
  const failures: string[] = [];
  const instance = new Ingestor({
    samplesTopic: 'samples',
    notificationTopics: new Set(['notifications.info']),
    notificationMeters: new NotificationMeters(METERS.definitions),
    deadLetterTopic: 'samples.dlq',
    telemetrySecret: SECRET,
    samples: { decodeAll: options.decodeAll ?? (async () => []) },
    measures: measuresWriter(
      { send },
      { encode: (batch: MeasureBatch) => Buffer.from(JSON.stringify(batch)) },
      'measures',
    ),
    pipeline: new SamplePipeline(parsePipelineConfig(options.pipeline ?? ''), {
      onFailure: (error) => failures.push(error.code),
    }),
    publisher: new GnocchiPublisher(
      new MeterMapper(DEFINITIONS),
      new MetricResolver(memoryIndex(), { creator: 'unit' }),
    ),
    send,
    metrics,
    logger: createLogger('ingest-unit', 'silent'),
  });
  return { instance, sent, registry, failures };
}

const batchOf = (topic: string, records: ConsumedRecord[]): RecordBatch => ({
  topic,
  partition: 0,
  records,
  highWatermark: String(Number(records.at(-1)!.offset) + 1),
});

const notification = (eventType: string, payload: unknown, priority = 'INFO') =>
  JSON.stringify({
    'oslo.version': '2.0',
    'oslo.message': JSON.stringify({
      message_id: randomUUID(),
      publisher_id: 'node.agent',
      event_type: eventType,
      priority,
      payload,
      timestamp: '2026-01-01 00:00:10.000000',
      context: {},
    }),
  });

describe('Ingestor', () => {
  it('meters OpenStack notifications with meters.yaml; unknown ones are counted, broken ones dead-lettered', async () => {
    const { instance, sent, registry } = ingestor({});
    expect(METERS.skipped).toEqual([
      { name: 'memory_util', problem: expect.stringContaining('unexpected text') },
    ]);
    const topic = 'notifications.info';
    await instance.handle(
      batchOf(topic, [
        record(topic, notification('node.report.periodic', { node: 'node-7', used_kb: 512 })),
        record(topic, notification('node.report.periodic', { node: 'node-7' })),
        record(topic, notification('node.other', { node: 'node-7', used_kb: 1 })),
        record(topic, notification('node.report.periodic', { node: 'node-7', used_kb: 1 }, 'ERROR')),
        record(topic, '{"oslo.version": "2.0", "oslo.message": "{\\"payload\\": {}}"}'),
        record(topic, notification('node.report.periodic', { node: 'node-7', used_kb: 'lots' })),
      ]),
    );
    const measures = sent.flat().filter((r) => r.topic === 'measures');
    expect(measures.map((r) => JSON.parse(r.value!.toString()))).toMatchObject([
      { timestamps: [Date.UTC(2026, 0, 1, 0, 0, 10) * 1000], values: [512] },
    ]);
    const letters = sent.flat().filter((r) => r.topic === 'samples.dlq');
    expect(letters.map((r) => r.headers![DEAD_LETTER_HEADERS.errorCode])).toEqual([
      'NOTIFICATION_METERS_NOT_A_NOTIFICATION',
      'PUBLISHER_INVALID_VOLUME',
    ]);
    const text = await registry.metrics();
    expect(text).toMatch(/granary_ingest_notifications_dropped_total\{reason="event_type"[^}]*\} 1/);
    expect(text).toMatch(/granary_ingest_notifications_dropped_total\{reason="priority"[^}]*\} 1/);
    expect(text).toMatch(/granary_ingest_notification_samples_without_volume_total\{[^}]*\} 1/);
    expect(text).toMatch(/granary_ingest_samples_in_total\{format="notification"[^}]*\} 2/);
  });

  it('publishes the good samples of a notification and dead-letters the record for the forged one', async () => {
    const { instance, sent } = ingestor({});
    const mixed = record('notifications.sample', oslo([{ volume: '1.0' }, { volume: '2.0', forge: true }]));
    const good = record('notifications.sample', oslo([{ volume: '3.0' }]));
    await instance.handle(batchOf('notifications.sample', [mixed, good]));
    const [measures, letters] = [
      sent.flat().filter((r) => r.topic === 'measures'),
      sent.flat().filter((r) => r.topic === 'samples.dlq'),
    ];
    expect(measures).toHaveLength(1);
    const batch = JSON.parse(measures[0]!.value!.toString()) as MeasureBatch;
    expect(measures[0]!.key).toBe(batch.metric_id);
    expect(batch.values).toEqual([1, 3]);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.value).toEqual(mixed.value);
    expect(letters[0]!.headers![DEAD_LETTER_HEADERS.errorCode]).toBe('PUBLISHER_FORGED_SAMPLE');
    expect(letters[0]!.headers![DEAD_LETTER_HEADERS.sourceOffset]).toBe(mixed.offset);
  });

  it('dead-letters the record of a sample whose resource the index refuses; counts a refused derived sample', async () => {
    const { instance, sent, registry } = ingestor({
      pipeline: `
sources: [{name: s, meters: ["*"], sinks: [raw, util]}]
sinks:
  - {name: raw, publishers: [gnocchi://]}
  - name: util
    publishers: [gnocchi://]
    transformers: [{name: arithmetic, parameters: {target: {name: memory_util, expr: "$(hardware.memory.used) / 2"}}}]`,
    });
    // No resource_url: no host_name, which the (fake) index requires.
    const text = oslo([{ volume: '8.0', resource: 'node-2', metadata: '{}' }]);
    const refused = record('notifications.sample', text);
    await instance.handle(batchOf('notifications.sample', [refused]));
    const letters = sent.flat().filter((r) => r.topic === 'samples.dlq');
    expect(letters.map((l) => l.headers![DEAD_LETTER_HEADERS.errorCode])).toEqual([
      'PUBLISHER_RESOURCE_REFUSED',
    ]);
    expect(sent.flat().filter((r) => r.topic === 'measures')).toEqual([]);
    const rejected = (await registry.getSingleMetric('granary_ingest_rejected_total')!.get()).values;
    // The raw sample's record is dead-lettered; memory_util, made by the transformer, is only counted.
    expect(rejected.map((v) => [v.labels.reason, v.value])).toEqual([['PUBLISHER_RESOURCE_REFUSED', 2]]);
  });

  it('sends nothing when the registry cannot be reached, so the batch is retried rather than committed', async () => {
    const outage = schemaErrors('SCHEMA_REGISTRY_UNAVAILABLE', 'down');
    const { instance, sent } = ingestor({
      decodeAll: async () => {
        throw outage;
      },
    });
    await expect(instance.handle(batchOf('samples', [record('samples', 'x')]))).rejects.toBe(outage);
    expect(sent).toEqual([]);
  });

  it('dead-letters Avro records that cannot be decoded, with the serde reason', async () => {
    const unreadable = schemaErrors('SCHEMA_UNKNOWN_SCHEMA_ID', 'id 999');
    const { instance, sent } = ingestor({ decodeAll: async () => [{ ok: false, error: unreadable }] });
    const bad = record('samples', 'garbage');
    await instance.handle(batchOf('samples', [bad]));
    expect(sent.flat().map((r) => [r.topic, r.headers?.[DEAD_LETTER_HEADERS.errorCode]])).toEqual([
      ['samples.dlq', 'SCHEMA_UNKNOWN_SCHEMA_ID'],
    ]);
  });

  it('dead-letters a record whose own handling throws an uncoded error, and publishes the next one', async () => {
    const sample = (timestamp: number): Sample => ({
      counter_name: 'hardware.memory.used',
      counter_type: 'gauge',
      counter_unit: 'KB',
      counter_volume: 5,
      user_id: null,
      project_id: null,
      user_name: null,
      project_name: null,
      resource_id: 'node-1',
      timestamp,
      resource_metadata: '{"resource_url": "node-1"}',
      source: 'hardware',
      message_id: randomUUID(),
      monotonic_time: null,
      message_signature: 'not checked before the timestamp is formatted',
    });
    // Past Date's range: formatting it for the signature throws a RangeError, which has no code.
    const outOfRange = sample(9e18);
    const { instance, sent } = ingestor({
      decodeAll: async () => [
        { ok: true, value: outOfRange },
        { ok: true, value: { ...sample(1_767_225_600_000_000), message_signature: '' } },
      ],
    });
    const poison = record('samples', 'poison');
    await instance.handle(batchOf('samples', [poison, record('samples', 'unsigned')]));
    const letters = sent.flat().filter((r) => r.topic === 'samples.dlq');
    expect(
      letters.map((l) => [
        l.headers![DEAD_LETTER_HEADERS.sourceOffset],
        l.headers![DEAD_LETTER_HEADERS.errorCode],
      ]),
    ).toEqual([
      [poison.offset, 'INGEST_RECORD_FAILED'],
      // The next record is handled on its own merits (unsigned, with a secret set).
      [String(Number(poison.offset) + 1), 'PUBLISHER_UNSIGNED_SAMPLE'],
    ]);
    expect(letters[0]!.headers![DEAD_LETTER_HEADERS.errorMessage]).toContain('Invalid time value');
  });

  it('retries rather than dead-letters the batch when a dependency fails with an uncoded error', async () => {
    const { instance, sent } = ingestor({
      decodeAll: async () => {
        throw new TypeError('socket hang up in a client library');
      },
    });
    const failure = instance.handle(batchOf('samples', [record('samples', 'x')]));
    await expect(failure).rejects.toMatchObject({ code: 'INGEST_DEPENDENCY_FAILED', retriable: true });
    expect(sent).toEqual([]);
  });
});
