import type { OutgoingRecord, RecordSender } from '@granary/kafka';
import { TopicSerde, createSchemaRegistryClient, sampleSchema } from '@granary/schema';
import { verifySample } from '@granary/telemetry';
import { describe, expect, it } from 'vitest';
import { SamplePublisher, createSampleProducer } from '../index.ts';

/** A sender that records each produce request instead of talking to a broker. */
function recordingSender(): RecordSender & { requests: OutgoingRecord[][] } {
  const requests: OutgoingRecord[][] = [];
  return {
    requests,
    connect: async () => {},
    disconnect: async () => {},
    send: async (records) => {
      requests.push([...records]);
    },
  };
}

async function publisherWith(batchSize: number) {
  const sender = recordingSender();
  // A long linger lets every send of one publish share a request if it may.
  const producer = createSampleProducer(sender, batchSize, { lingerMs: 50 });
  const serde = await TopicSerde.create(
    createSchemaRegistryClient({ url: 'mock://poller-unit' }),
    'granary.samples',
    sampleSchema,
  );
  const publisher = new SamplePublisher(producer, serde, {
    topic: 'granary.samples',
    telemetrySecret: 'secret',
    sampleSource: 'granary-test',
    batchSize,
    replicaId: 'replica-1',
  });
  return { sender, serde, publisher, producer };
}

const batch = (count: number) => ({
  source: 'host',
  pollster: 'hardware.memory.used',
  timestamp: Date.UTC(2026, 0, 1) * 1000,
  monotonicTime: 12.5,
  samples: Array.from({ length: count }, (_, i) => ({
    name: 'hardware.memory.used',
    type: 'gauge' as const,
    unit: 'KB',
    volume: 1000 + i,
    resourceId: `host-${i}`,
    metadata: { resource_url: `host-${i}` },
    // A pollster may fix the source (the hardware ones do); the others get the configured one.
    ...(i === 1 ? { source: 'hardware' } : {}),
  })),
});

describe('SamplePublisher', () => {
  it('produces signed Avro samples keyed by resource id, with the replica header', async () => {
    const { sender, serde, publisher } = await publisherWith(50);
    await publisher.publish(batch(2));
    const records = sender.requests.flat();
    expect(records.map((r) => r.key)).toEqual(['host-0', 'host-1']);
    expect(
      records.every((r) => r.topic === 'granary.samples' && r.headers?.['granary-poller'] === 'replica-1'),
    ).toBe(true);
    const sample = await serde.decode(records[0]!.value!);
    expect(sample).toMatchObject({
      counter_name: 'hardware.memory.used',
      counter_type: 'gauge',
      counter_unit: 'KB',
      counter_volume: 1000,
      resource_id: 'host-0',
      timestamp: Date.UTC(2026, 0, 1) * 1000,
      resource_metadata: '{"resource_url":"host-0"}',
      source: 'granary-test',
      monotonic_time: 12.5,
      user_id: null,
      project_id: null,
    });
    expect(sample.message_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(verifySample(sample, 'secret')).toBe(true);
    expect((await serde.decode(records[1]!.value!)).source).toBe('hardware');
  });

  it('sends batch_size samples per produce request, or a whole run when batch_size is 0', async () => {
    const sized = await publisherWith(50);
    await sized.publisher.publish(batch(120));
    expect(sized.sender.requests.map((request) => request.length)).toEqual([50, 50, 20]);
    const whole = await publisherWith(0);
    await whole.publisher.publish(batch(120));
    expect(whole.sender.requests.map((request) => request.length)).toEqual([120]);
  });
});
