import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { loadConfig } from '@granary/config';
import { type KafkaClient, createKafkaClient } from '@granary/kafka';
import { type Sample, TopicSerde, createSchemaRegistryClient, sampleSchema } from '@granary/schema';
import { infra } from '@granary/testing/infra';
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
    poller: {
      ...config.poller,
      pollingFile: file,
      watchIntervalMs: 200,
      telemetrySecret: 'poller-tests',
      ...poller,
    },
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

export interface SampleReader {
  samples: ReadSample[];
  /** Resolves once every record produced before the call has been read. */
  catchUp(): Promise<void>;
  stop(): Promise<void>;
}

/** Reads and decodes a samples topic from the beginning until stopped. */
export async function readSamples(topic: string): Promise<SampleReader> {
  const serde = await TopicSerde.create(
    createSchemaRegistryClient({ url: infra().schemaRegistryUrl }),
    topic,
    sampleSchema,
    {
      register: false,
    },
  );
  const samples: ReadSample[] = [];
  const nextOffsets = new Map<number, bigint>();
  const kafka = testKafka();
  const consumer = kafka.createConsumer({ groupId: uniqueName('reader'), topics: [topic] });
  const running = consumer.run(async (batch) => {
    for (const record of batch.records) {
      nextOffsets.set(record.partition, BigInt(record.offset) + 1n);
      samples.push({
        key: record.key?.toString() ?? '',
        replica: record.headers['granary-poller']?.toString() ?? '',
        sample: await serde.decode(record.value!),
      });
    }
  });
  return {
    samples,
    catchUp: async () => {
      const admin = kafka.createAdmin();
      await admin.connect();
      try {
        const ends = await admin.endOffsets(topic);
        await eventually(() =>
          ends.every((end) => (nextOffsets.get(end.partition) ?? 0n) >= BigInt(end.offset)),
        );
      } finally {
        await admin.disconnect();
      }
    },
    stop: async () => {
      await consumer.stop();
      await running;
    },
  };
}

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

export interface PollerProcess {
  process: ChildProcess;
  /** File holding the process's stdout and stderr (pino JSON lines). */
  log: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `apps/poller/main.ts` as its own process, as it runs in production, configured by a
 * `GRANARY_CONFIG` file written next to the polling file.
 */
export function spawnPoller(
  name: string,
  config: Record<string, unknown>,
  pollingFileOfConfig: string,
): PollerProcess {
  const directory = dirname(pollingFileOfConfig);
  const configFile = join(directory, `${name}.granary.json`);
  writeFileSync(configFile, JSON.stringify(config));
  const log = join(directory, `${name}.log`);
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/poller/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, GRANARY_CONFIG: configFile },
    stdio: ['ignore', out, out],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  return { process: child, log, exited };
}

/** The parts of a poller config file that point it at the test infrastructure. */
export function infraConfig(samplesTopic: string): Record<string, unknown> {
  return {
    kafka: { brokers: infra().kafkaBrokers },
    schemaRegistry: { url: infra().schemaRegistryUrl },
    topics: {
      samples: {
        name: samplesTopic,
        partitions: 4,
        replicationFactor: 1,
        retentionMs: 3_600_000,
        cleanupPolicy: 'delete',
      },
    },
    log: { level: 'warn' },
  };
}
