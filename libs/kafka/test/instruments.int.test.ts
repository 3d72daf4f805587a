import { createRegistry, prometheusInstruments } from '@granary/observability';
import { infra } from '@granary/testing/infra';
import { metricValue } from '@granary/testing/metrics';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchingProducer, createKafkaClient, kafkaErrors } from '../index.ts';
import {
  createTopics,
  deleteCreatedTopics,
  eventually,
  testKafka,
  topicSpec,
  uniqueName,
} from './support.ts';

afterAll(() => deleteCreatedTopics(testKafka()));

describe('kafka metrics against the real broker', () => {
  it('counts produce requests, records and bytes by topic, and handled batches by outcome', async () => {
    const registry = createRegistry('test');
    const kafka = createKafkaClient(
      { brokers: infra().kafkaBrokers, clientId: 'granary-kafka-tests' },
      {
        handlerBackoff: { initialDelayMs: 10, maxDelayMs: 10 },
        instruments: prometheusInstruments(registry),
      },
    );
    const value = (name: string, labels: Record<string, string> = {}) => metricValue(registry, name, labels);
    const topic = uniqueName('measured');
    await createTopics(kafka, topicSpec(topic, 1));

    const producer = new BatchingProducer(kafka.createSender());
    await producer.connect();
    await producer.send([
      { topic, key: 'k1', value: Buffer.from('abc') },
      { topic, key: 'k2', value: Buffer.from('defgh') },
    ]);
    await producer.close();
    expect(await value('granary_kafka_produced_records_total', { topic })).toBe(2);
    expect(await value('granary_kafka_produced_bytes_total', { topic })).toBe(2 + 3 + 2 + 5);
    expect(await value('granary_kafka_produce_requests_total', { outcome: 'ok' })).toBe(1);

    let attempts = 0;
    const consumer = kafka.createConsumer({ groupId: uniqueName('measured'), topics: [topic] });
    const running = consumer.run(async () => {
      if (++attempts === 1) throw kafkaErrors('KAFKA_UNAVAILABLE', 'index briefly down');
    });
    await eventually(async () => (await value('granary_kafka_consumed_records_total', { topic })) === 2);
    await consumer.stop();
    await running;
    expect(await value('granary_kafka_consumed_batches_total', { topic, outcome: 'KAFKA_UNAVAILABLE' })).toBe(
      1,
    );
    expect(await value('granary_kafka_consumed_batches_total', { topic, outcome: 'ok' })).toBe(1);
    const timed = await value('granary_kafka_batch_handling_duration_seconds', {
      topic,
      outcome: 'ok',
      le: '+Inf',
    });
    expect(timed).toBe(1);
  });
});
