import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestIndex, registerMetrics } from '@granary/testing/database';
import {
  caughtUp,
  createTopics,
  dropBucket,
  endOffsets,
  exited,
  processorConfig,
  produce,
  s3Store,
  scratchDirectory,
  spawnApp,
  uniqueSuffix,
} from '@granary/testing/processor-environment';
import { generateStream } from '@granary/testing/stream';
import { TcpProxy } from '@granary/testing/tcp-proxy';
import { afterAll, describe, expect, it } from 'vitest';
import { infra } from '../infra/endpoints.ts';

/**
 * Issue 15: an app never exits on a transient dependency failure. Started before its dependency
 * answers, it retries (one log line per attempt), says not ready meanwhile and gets to work once
 * the dependency is there; when a dependency vanishes and returns, it recovers without a restart.
 * The dependencies are real, reached through a TCP forwarder the test cuts and restores.
 */
const children: ChildProcess[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readiness(adminPort: number): Promise<number | 'down'> {
  try {
    return (await fetch(`http://127.0.0.1:${adminPort}/readyz`, { signal: AbortSignal.timeout(2000) }))
      .status;
  } catch {
    return 'down';
  }
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

/** A free port for an admin server (a reserved, never-opened proxy's port). */
const freePort = async () => (await TcpProxy.reserve({ host: '127.0.0.1', port: 1 })).port;

const logLines = (directory: string, name: string) =>
  readFileSync(join(directory, `${name}.log`), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('apps and their dependencies', () => {
  it('a processor started before Kafka answers retries, is not ready, then consumes everything once Kafka is there', async () => {
    const suffix = uniqueSuffix();
    const topic = `test.reliability.startup.${suffix}`;
    const bucket = `granary-startup-${suffix}`;
    const database = await createTestIndex({ seed: true });
    cleanups.push(
      () => database.drop(),
      () => dropBucket(bucket),
    );
    const { metricIds, batches } = generateStream({
      seed: 19,
      metrics: 50,
      batchesPerMetric: 4,
      measuresPerBatch: 5,
      stepUs: 60_000_000,
    });
    await registerMetrics(database.index, metricIds, 'low');
    await createTopics(topic, 4);
    await produce(topic, batches);
    const ends = await endOffsets(topic);

    const [kafkaHost, kafkaPort] = (infra().kafkaBrokers[0] as string).split(':') as [string, string];
    const kafka = await TcpProxy.reserve({ host: kafkaHost, port: Number(kafkaPort) });
    cleanups.push(() => kafka.cut());
    const adminPort = await freePort();
    const directory = scratchDirectory();
    const config = processorConfig({
      topic,
      bucket,
      databaseUrl: database.databaseUrl,
      groupId: `startup-${suffix}`,
    });
    const child = spawnApp(
      'processor',
      {
        ...config,
        kafka: { ...(config.kafka as object), brokers: [`127.0.0.1:${kafka.port}`] },
        admin: { host: '127.0.0.1', port: adminPort },
      },
      directory,
      'processor',
    );
    children.push(child);
    const retries = () =>
      logLines(directory, 'processor').filter(
        (line) => line.code === 'KAFKA_UNAVAILABLE' && typeof line.attempt === 'number',
      );
    await until('two start-up retries logged', async () => retries().length >= 2);
    expect(child.exitCode).toBeNull();
    expect(await readiness(adminPort)).toBe(503);
    expect(retries()[0]).toMatchObject({ attempt: 1, nextDelayMs: expect.any(Number) });

    await kafka.restore();
    await until('ready', async () => (await readiness(adminPort)) === 200);
    const store = s3Store(bucket);
    await until('checkpointed to the end of the topic', () => caughtUp(store, topic, ends));
    await store.close();
    child.kill('SIGTERM');
    expect(await exited(child)).toEqual({ code: 0, signal: null });
  }, 180_000);

  it('the API loses PostgreSQL and gets it back without a restart', async () => {
    const database = await createTestIndex({ seed: true });
    cleanups.push(() => database.drop());
    const url = new URL(database.databaseUrl);
    const postgres = await TcpProxy.reserve({ host: url.hostname, port: Number(url.port) });
    cleanups.push(() => postgres.cut());
    await postgres.restore();
    url.port = String(postgres.port);
    const adminPort = await freePort();
    const directory = scratchDirectory();
    const child = spawnApp(
      'api',
      {
        api: { host: '127.0.0.1', port: 0, auth: { mode: 'noauth' } },
        database: { url: url.toString() },
        measures: { writes: false },
        storage: { driver: 'file', file: { basePath: directory } },
        redis: { url: infra().redisUrl },
        log: { level: 'warn' },
        admin: { host: '127.0.0.1', port: adminPort },
      },
      directory,
      'api',
    );
    children.push(child);
    await until('ready', async () => (await readiness(adminPort)) === 200);

    await postgres.cut();
    await until(
      'not ready while PostgreSQL is away',
      async () => (await readiness(adminPort)) === 503,
      30_000,
    );
    await sleep(2000);
    expect(child.exitCode).toBeNull();

    await postgres.restore();
    await until('ready again', async () => (await readiness(adminPort)) === 200, 30_000);
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    expect(await exited(child)).toEqual({ code: 0, signal: null });
  }, 120_000);
});
