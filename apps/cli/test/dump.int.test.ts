import { partitionFor } from '@granary/kafka';
import {
  type MeasureBatch,
  TopicSerde,
  createSchemaRegistryClient,
  measureBatchSchema,
} from '@granary/schema';
import { infra } from '@granary/testing/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTopics, granary, produce, topicSpec, uniqueName } from './integration.ts';

const PARTITIONS = 4;
const topic = uniqueName('measures');
const metricId = '0b8a2a8e-54d2-4a43-9d2a-1f5b9f0c7e21';
const known: MeasureBatch = {
  metric_id: metricId,
  timestamps: [1_767_268_800_000_000, 1_767_268_801_000_001],
  values: [1.5, -2.25],
};
const others = Array.from({ length: 12 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

const lines = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  await createTopics(topicSpec(topic, PARTITIONS));
  const serde = await TopicSerde.create(
    createSchemaRegistryClient({ url: infra().schemaRegistryUrl }),
    topic,
    measureBatchSchema,
  );
  await produce(
    others.map((id, i) => ({
      topic,
      key: id,
      value: serde.encode({ metric_id: id, timestamps: [i], values: [i] }),
    })),
  );
  await produce([{ topic, key: metricId, value: serde.encode(known), headers: { origin: 'test' } }]);
  // Not Confluent-framed: dump must show it with its reason, not stop.
  await produce([
    { topic, key: metricId, value: Buffer.from('not avro'), partition: partitionFor(metricId, PARTITIONS) },
  ]);
});

afterAll(() => deleteTopics());

describe('granary dump', () => {
  it('prints a known record as the expected JSON line, by key', async () => {
    const { code, out } = await granary(['dump', topic, '--key', metricId]);
    expect(code).toBe(0);
    const [record, corrupt, ...rest] = lines(out);
    expect(rest).toEqual([]);
    expect(record).toEqual({
      topic,
      partition: partitionFor(metricId, PARTITIONS),
      offset: expect.stringMatching(/^\d+$/),
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      key: metricId,
      headers: { origin: 'test' },
      value: {
        metric_id: metricId,
        timestamps: [1_767_268_800_000_000, 1_767_268_801_000_001],
        values: [1.5, -2.25],
      },
    });
    expect(corrupt).toMatchObject({
      key: metricId,
      value: null,
      error: { code: 'SCHEMA_CORRUPT_RECORD' },
      valueBase64: Buffer.from('not avro').toString('base64'),
    });
    expect(BigInt(corrupt!.offset as string)).toBe(BigInt(record!.offset as string) + 1n);
  });

  it('reads every record by default, and exactly an offset range of one partition', async () => {
    const all = lines((await granary(['dump', topic])).out);
    expect(all).toHaveLength(others.length + 2);

    const partition = partitionFor(metricId, PARTITIONS);
    const inPartition = all.filter((r) => r.partition === partition).map((r) => r.offset);
    const { code, out } = await granary([
      'dump',
      topic,
      '--partition',
      String(partition),
      '--start-offset',
      '1',
      '--end-offset',
      '3',
    ]);
    expect(code).toBe(0);
    expect(lines(out).map((r) => r.offset)).toEqual(
      inPartition.filter((o) => ['1', '2'].includes(o as string)),
    );
  });

  it('selects by time range through the broker time index', async () => {
    expect(lines((await granary(['dump', topic, '--since', 'P1D'])).out)).toHaveLength(others.length + 2);
    expect(
      lines((await granary(['dump', topic, '--since', '2000-01-01T00:00:00Z', '--until', '2000-01-02'])).out),
    ).toEqual([]);
  });

  it('stops after --limit records', async () => {
    expect(lines((await granary(['dump', topic, '--limit', '3'])).out)).toHaveLength(3);
  });

  it('refuses a partition the topic does not have (exit 2) and a missing topic (exit 1)', async () => {
    const badPartition = await granary(['dump', topic, '--partition', '9']);
    expect(badPartition.code).toBe(2);
    expect(badPartition.err).toContain('partition 9 does not exist');
    const missing = await granary(['dump', uniqueName('absent'), '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.err)).toMatchObject({ code: 'CLI_TOPIC_NOT_FOUND' });
  });
});
