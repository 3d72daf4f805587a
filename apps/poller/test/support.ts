import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@granary/config';
import { type KafkaClient, createKafkaClient } from '@granary/kafka';
import { type Sample, TopicSerde, createSchemaRegistryClient, sampleSchema } from '@granary/schema';
import { infra } from '../../../test/infra/endpoints.ts';
import { type PollerConfig, PollerConfigSchema } from '../index.ts';

export const uniqueName = (name: string) => `test.${name}.${randomUUID().slice(0, 8)}`;

export function testKafka(): KafkaClient {
  return createKafkaClient({ brokers: infra().kafkaBrokers, clientId: 'granary-poller-tests' });
}

/** Wait for `condition`, polling; a test that never gets there fails on its own timeout. */
export async function eventually(condition: () => boolean | Promise<boolean>, pollMs = 100): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, pollMs));
}

/** A fresh directory holding `polling.yaml` with `text`. */
export function pollingFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'granary-poller-')), 'polling.yaml');
  writeFileSync(file, text);
  return file;
}

/** Poller configuration against the test infrastructure, on a topic of its own. */
export function pollerConfig(
  overrides: { pollingFile: string; samplesTopic: string } & Record<string, unknown>,
): PollerConfig {
  const { pollingFile: file, samplesTopic, ...poller } = overrides;
  const config = loadConfig(PollerConfigSchema, { env: {} });
  return {
    ...config,
    poller: { ...config.poller, pollingFile: file, watchIntervalMs: 200, ...poller },
    kafka: { brokers: infra().kafkaBrokers, clientId: 'granary-poller-tests' },
    schemaRegistry: { url: infra().schemaRegistryUrl },
    topics: {
      ...config.topics,
      samples: { ...config.topics.samples, name: samplesTopic, partitions: 4, retentionMs: 3_600_000 },
    },
  };
}

export interface ReadSample {
  key: string;
  replica: string;
  sample: Sample;
}

/** Reads and decodes a samples topic from the beginning until stopped. */
export async function readSamples(topic: string): Promise<{ samples: ReadSample[]; stop(): Promise<void> }> {
  const serde = await TopicSerde.create(
    createSchemaRegistryClient({ url: infra().schemaRegistryUrl }),
    topic,
    sampleSchema,
    {
      register: false,
    },
  );
  const samples: ReadSample[] = [];
  const consumer = testKafka().createConsumer({ groupId: uniqueName('reader'), topics: [topic] });
  const running = consumer.run(async (batch) => {
    for (const record of batch.records) {
      samples.push({
        key: record.key?.toString() ?? '',
        replica: record.headers['granary-poller']?.toString() ?? '',
        sample: await serde.decode(record.value!),
      });
    }
  });
  return {
    samples,
    stop: async () => {
      await consumer.stop();
      await running;
    },
  };
}
