import {
  type MeasureBatch,
  type Sample,
  TopicSerde,
  createSchemaRegistryClient,
  measureBatchSchema,
  sampleSchema,
} from '@granary/schema';
import { infra } from '@granary/testing/infra';
import { aMeasureBatch, aSample } from '@granary/testing/schema-fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ConsumedRecord,
  type TopicPartition,
  createKafkaClient,
  handleEachRecord,
  kafkaErrors,
  partitionFor,
  provisionTopics,
  readDeadLetter,
} from '../index.ts';
import {
  connectedProducer,
  createTopics,
  deleteCreatedTopics,
  eventually,
  readTopic,
  testKafka,
  topicSpec,
  uniqueName,
} from './support.ts';

const registry = () => createSchemaRegistryClient({ url: infra().schemaRegistryUrl });

afterAll(() => deleteCreatedTopics(testKafka()));

describe('topic provisioning against the real broker', () => {
  it('creates topics once, then reports them unchanged, and reports drift without touching it', async () => {
    const admin = testKafka().createAdmin();
    await admin.connect();
    try {
      const specs = [
        topicSpec(uniqueName('prov-a'), 3),
        { ...topicSpec(uniqueName('prov-b'), 2), cleanupPolicy: 'compact' as const },
      ];
      const first = await provisionTopics(admin, specs);
      expect(first.created).toEqual(specs.map((s) => s.name));
      expect(await provisionTopics(admin, specs)).toEqual({
        created: [],
        unchanged: specs.map((s) => s.name),
        drift: [],
      });

      const wanted = [{ ...specs[0]!, partitions: 6, retentionMs: 60_000 }, specs[1]!];
      const drifted = await provisionTopics(admin, wanted);
      expect(drifted.drift).toEqual([
        { topic: specs[0]!.name, setting: 'partitions', expected: '6', actual: '3' },
        { topic: specs[0]!.name, setting: 'retention.ms', expected: '60000', actual: '3600000' },
      ]);
      expect((await admin.describeTopics([specs[0]!.name])).get(specs[0]!.name)?.partitions).toBe(3);
      await admin.deleteTopics(specs.map((s) => s.name));
    } finally {
      await admin.disconnect();
    }
  });
});

describe('produce → consume against the real broker and registry', () => {
  it('round-trips Samples and MeasureBatches, each keyed record on its Java murmur2 partition', async () => {
    const kafka = testKafka();
    const samplesTopic = uniqueName('samples');
    const measuresTopic = uniqueName('measures');
    await createTopics(kafka, topicSpec(samplesTopic, 8), topicSpec(measuresTopic, 8));
    const samples = await TopicSerde.create(registry(), samplesTopic, sampleSchema);
    const measures = await TopicSerde.create(registry(), measuresTopic, measureBatchSchema);
    const sent = {
      samples: Array.from({ length: 20 }, (_, i) =>
        aSample({ resource_id: `resource-${i}`, counter_volume: i }),
      ),
      measures: Array.from({ length: 20 }, () => ({ ...aMeasureBatch(100), metric_id: crypto.randomUUID() })),
    };
    const producer = await connectedProducer(kafka);
    await producer.send([
      ...sent.samples.map((s) => ({ topic: samplesTopic, key: s.resource_id, value: samples.encode(s) })),
      ...sent.measures.map((m) => ({ topic: measuresTopic, key: m.metric_id, value: measures.encode(m) })),
    ]);
    await producer.close();

    const readers = {
      samples: await TopicSerde.create(registry(), samplesTopic, sampleSchema, { register: false }),
      measures: await TopicSerde.create(registry(), measuresTopic, measureBatchSchema, { register: false }),
    };
    const decodeAll = async <V>(records: ConsumedRecord[], serde: TopicSerde<V>) => {
      for (const r of records) expect(r.partition).toBe(partitionFor(r.key!, 8));
      return Promise.all(records.map((r) => serde.decode(r.value!)));
    };
    const byKey = <V>(values: V[], key: (v: V) => string) =>
      [...values].sort((a, b) => key(a).localeCompare(key(b)));
    const gotSamples = await decodeAll(await readTopic(kafka, samplesTopic, 20), readers.samples);
    const gotMeasures = await decodeAll(await readTopic(kafka, measuresTopic, 20), readers.measures);
    expect(byKey<Sample>(gotSamples, (s) => s.resource_id)).toEqual(
      byKey(sent.samples, (s) => s.resource_id),
    );
    expect(byKey<MeasureBatch>(gotMeasures, (m) => m.metric_id)).toEqual(
      byKey(sent.measures, (m) => m.metric_id),
    );
  });
});

describe('dead letters against the real broker and registry', () => {
  it('sends records that are not, are truncated or overrun their Avro value to the DLQ with their reason, and goes on', async () => {
    const kafka = testKafka();
    const topic = uniqueName('measures');
    const deadLetterTopic = `${topic}.dlq`;
    await createTopics(kafka, topicSpec(topic, 1), topicSpec(deadLetterTopic, 1));
    const measures = await TopicSerde.create(registry(), topic, measureBatchSchema);
    const whole = measures.encode(aMeasureBatch(3));
    const truncated = whole.subarray(0, whole.length - 2);
    const poison = [Buffer.from('{"not":"avro"}'), truncated, Buffer.concat([whole, Buffer.from([7])])];
    const key = crypto.randomUUID();

    const producer = await connectedProducer(kafka);
    await producer.send(
      [measures.encode(aMeasureBatch(1)), ...poison, measures.encode(aMeasureBatch(2))].map((value) => ({
        topic,
        key,
        value,
        headers: { origin: 'test' },
      })),
    );

    const decoded: MeasureBatch[] = [];
    const consumer = kafka.createConsumer({ groupId: uniqueName('dlq'), topics: [topic] });
    const running = consumer.run((batch) =>
      handleEachRecord(
        batch,
        async (record) => void decoded.push(await measures.decode(record.value!)),
        producer,
      ),
    );
    await eventually(() => decoded.length === 2);
    await consumer.stop();
    await running;

    expect(decoded.map((m) => m.values.length)).toEqual([1, 2]);
    const letters = await readTopic(kafka, deadLetterTopic, 3);
    expect(letters.map((l) => readDeadLetter(l))).toEqual([
      expect.objectContaining({
        errorCode: 'SCHEMA_CORRUPT_RECORD',
        sourceTopic: topic,
        sourcePartition: 0,
        sourceOffset: '1',
      }),
      expect.objectContaining({ errorCode: 'SCHEMA_CORRUPT_RECORD', sourceOffset: '2' }),
      expect.objectContaining({ errorCode: 'SCHEMA_CORRUPT_RECORD', sourceOffset: '3' }),
    ]);
    expect(letters.map((l) => l.value)).toEqual(poison);
    expect(letters.every((l) => l.key?.toString() === key && l.headers.origin?.toString() === 'test')).toBe(
      true,
    );
    expect(letters[0]!.headers['granary.error.message']!.toString()).toContain('magic byte');

    await producer.close();
  });
});

describe('consumer offsets and group membership against the real broker', () => {
  it('resumes at the committed offset after a restart mid-stream, losing nothing', async () => {
    const kafka = testKafka();
    const topic = uniqueName('restart');
    const groupId = uniqueName('restart-group');
    await createTopics(kafka, topicSpec(topic, 1));
    const producer = await connectedProducer(kafka);
    // Ten records per request: Kafka hands out whole record batches, so small ones make small fetches.
    const produce = async (from: number, count: number) => {
      for (let at = from; at < from + count; at += 10) {
        await producer.send(
          Array.from({ length: 10 }, (_, i) => ({ topic, key: 'k', value: Buffer.alloc(200, at + i) })),
        );
      }
    };
    await produce(0, 300);

    const firstRun: string[] = [];
    // Small fetches so the stream arrives in many batches and the stop lands in the middle.
    const first = kafka.createConsumer({ groupId, topics: [topic], maxBytesPerPartition: 4096 });
    let batches = 0;
    const firstRunning = first.run(async (batch) => {
      firstRun.push(...batch.records.map((r) => r.offset));
      if (++batches === 2) void first.stop();
    });
    await firstRunning;
    expect(firstRun.length).toBeGreaterThan(0);
    expect(firstRun.length).toBeLessThan(300);

    const admin = kafka.createAdmin();
    await admin.connect();
    const [committed] = await admin.committedOffsets(groupId, topic);
    expect(committed?.offset).toBe(String(firstRun.length));

    await produce(300, 100);
    const secondRun: string[] = [];
    const second = kafka.createConsumer({ groupId, topics: [topic] });
    const secondRunning = second.run(async (batch) => {
      secondRun.push(...batch.records.map((r) => r.offset));
    });
    await eventually(() => secondRun.length >= 400 - firstRun.length);
    await second.stop();
    await secondRunning;

    expect(secondRun[0]).toBe(committed?.offset);
    expect([...firstRun, ...secondRun].map(Number)).toEqual(Array.from({ length: 400 }, (_, i) => i));
    expect((await admin.committedOffsets(groupId, topic))[0]?.offset).toBe('400');
    await admin.disconnect();
    await producer.close();
  });

  it('a consumer stopped while it is still starting does not join the group afterwards', async () => {
    const kafka = testKafka();
    const topic = uniqueName('stop-while-starting');
    const groupId = uniqueName('stop-while-starting-group');
    await createTopics(kafka, topicSpec(topic, 1));
    const admin = kafka.createAdmin();
    await admin.connect();
    // A stop at each point of the start: before connecting, while subscribing, while joining.
    for (const delayMs of [0, 5, 50, 200]) {
      const consumer = kafka.createConsumer({ groupId, topics: [topic] });
      const running = consumer.run(async () => {});
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await consumer.stop();
      await running;
    }
    // Long enough for a consumer left running to have joined (a join takes about a second here).
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(await admin.describeGroup(groupId)).toMatchObject({ members: 0 });
    await admin.disconnect();
  });

  it('in manual mode commits only when told, and lets onAssigned seek where the application left off', async () => {
    const kafka = testKafka();
    const topic = uniqueName('manual');
    const groupId = uniqueName('manual-group');
    await createTopics(kafka, topicSpec(topic, 1));
    const producer = await connectedProducer(kafka);
    await producer.send(
      Array.from({ length: 10 }, (_, i) => ({ topic, key: null, value: Buffer.from([i]) })),
    );
    await producer.close();

    // As a processor does: resume from its own checkpoint (offset 4), not from the group's offset.
    const handled: string[] = [];
    const consumer = kafka.createConsumer({
      groupId,
      topics: [topic],
      commit: 'manual',
      onAssigned: (partitions, self) => {
        for (const { partition } of partitions) self.seek({ topic, partition, offset: '4' });
      },
    });
    const running = consumer.run(async (batch) => {
      handled.push(...batch.records.map((r) => r.offset));
    });
    await eventually(() => handled.length >= 6);
    expect(handled).toEqual(['4', '5', '6', '7', '8', '9']);

    const admin = kafka.createAdmin();
    await admin.connect();
    expect((await admin.committedOffsets(groupId, topic))[0]?.offset).toBe('-1');
    const owners = await admin.partitionOwners(groupId, topic);
    expect([...owners.keys()]).toEqual([0]);
    expect(owners.get(0)).toMatch(/ granary-kafka-tests-/);
    await consumer.commit([{ topic, partition: 0, offset: '8' }]);
    expect((await admin.committedOffsets(groupId, topic))[0]?.offset).toBe('8');
    await consumer.stop();
    await running;
    expect((await admin.partitionOwners(groupId, topic)).size).toBe(0);
    await admin.disconnect();
  });

  it('retries a batch whose handler fails retriably, and stops without committing on a non-retriable failure', async () => {
    const kafka = createKafkaClient(
      { brokers: infra().kafkaBrokers, clientId: 'granary-kafka-tests' },
      { handlerBackoff: { initialDelayMs: 10, maxDelayMs: 10 } },
    );
    const topic = uniqueName('failing');
    await createTopics(kafka, topicSpec(topic, 1));
    const producer = await connectedProducer(kafka);
    await producer.send([{ topic, key: null, value: Buffer.from('x') }]);
    await producer.close();

    const retriedGroup = uniqueName('retried');
    let attempts = 0;
    const retried = kafka.createConsumer({ groupId: retriedGroup, topics: [topic] });
    const retriedRunning = retried.run(async () => {
      if (++attempts < 3) throw kafkaErrors('KAFKA_UNAVAILABLE', 'index briefly down');
    });
    await eventually(() => attempts === 3);

    const failingGroup = uniqueName('failing');
    const failing = kafka.createConsumer({ groupId: failingGroup, topics: [topic] });
    const bug = new TypeError('handler bug');
    await expect(
      failing.run(async () => {
        throw bug;
      }),
    ).rejects.toBe(bug);

    const admin = kafka.createAdmin();
    await admin.connect();
    await eventually(async () => (await admin.committedOffsets(retriedGroup, topic))[0]?.offset === '1');
    expect((await admin.committedOffsets(failingGroup, topic))[0]?.offset).toBe('-1');
    await admin.disconnect();
    await retried.stop();
    await retriedRunning;
  });

  it('reports assigned and revoked partitions as members join and leave', async () => {
    const kafka = testKafka();
    const topic = uniqueName('rebalance');
    const groupId = uniqueName('rebalance-group');
    await createTopics(kafka, topicSpec(topic, 4));
    const events: Record<'a' | 'b', { assigned: TopicPartition[]; revoked: TopicPartition[] }> = {
      a: { assigned: [], revoked: [] },
      b: { assigned: [], revoked: [] },
    };
    const member = (name: 'a' | 'b') =>
      kafka.createConsumer({
        groupId,
        topics: [topic],
        sessionTimeoutMs: 10_000,
        onAssigned: (partitions) => void events[name].assigned.push(...partitions),
        onRevoked: (partitions) => void events[name].revoked.push(...partitions),
      });
    const partitionsOf = (list: TopicPartition[]) => list.map((p) => p.partition).sort();

    const a = member('a');
    const aRunning = a.run(async () => {});
    await eventually(() => a.assignment().length === 4);
    expect(partitionsOf(events.a.assigned)).toEqual([0, 1, 2, 3]);

    const b = member('b');
    const bRunning = b.run(async () => {});
    await eventually(() => b.assignment().length > 0 && a.assignment().length + b.assignment().length === 4);
    expect(partitionsOf([...a.assignment(), ...b.assignment()])).toEqual([0, 1, 2, 3]);
    await eventually(() => events.a.revoked.length > 0);
    expect(partitionsOf(events.a.revoked)).toEqual(partitionsOf(b.assignment()));

    await b.stop();
    await bRunning;
    expect(partitionsOf(events.b.revoked)).toEqual(partitionsOf(events.b.assigned));
    await eventually(() => a.assignment().length === 4);
    await a.stop();
    await aRunning;
    expect(a.assignment()).toEqual([]);
  });
});
