import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../infra/settings.ts';

/**
 * Issue 15's restart suite: five cycles of (infrastructure start + `make up`, work, `make down`
 * and infrastructure stop), each with every app ready, and no record dead-lettered by the
 * restarts. It runs an instance of its own (ports shifted by PORT_OFFSET, a state directory of
 * its own), so the shared local infrastructure other tests use is never restarted.
 */
const CYCLES = 5;
const PORT_OFFSET = 1000;
const KAFKA = `127.0.0.1:${19092 + PORT_OFFSET}`;
const stateDir = mkdtempSync(join(tmpdir(), 'granary-restarts-'));
// PostgreSQL runs as its own user when the suite runs as root: it must be able to enter.
chmodSync(stateDir, 0o755);

/** This process's environment without the shared instance's endpoints, pointed at its own. */
const environment: NodeJS.ProcessEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        !name.startsWith('GRANARY_') &&
        !['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'DATABASE_URL', 'REDIS_URL', 'S3_ENDPOINT'].includes(name),
    ),
  ),
  GRANARY_INFRA__PORT_OFFSET: String(PORT_OFFSET),
  GRANARY_INFRA__STATE_DIR: stateDir,
  GRANARY_INFRA__CONTAINERS: 'never',
};

function tsx(script: string, ...args: string[]): Promise<{ code: number | null; output: string }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: PROJECT_ROOT,
    env: environment,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

async function endOffsetSum(topics: readonly string[]): Promise<number> {
  const kafka = new Kafka({
    brokers: [KAFKA],
    clientId: 'granary-restart-suite',
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    let sum = 0;
    for (const topic of topics.filter((name) => existing.has(name))) {
      for (const { offset } of await admin.fetchTopicOffsets(topic)) sum += Number(offset);
    }
    return sum;
  } finally {
    await admin.disconnect();
  }
}

/** The end of the stack's log, for a failure message (the state directory goes with the suite). */
const stackLogTail = () => {
  const file = join(stateDir, 'logs', 'stack.log');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-40).join('\n') : '(no stack log)';
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  // make up runs the bundles.
  const bundled = await tsx('tools/build/bundle.ts');
  expect(bundled.code, bundled.output).toBe(0);
}, 120_000);

afterAll(async () => {
  await tsx('tools/run.ts', 'down');
  await tsx('test/infra/cli.ts', 'down');
  rmSync(stateDir, { recursive: true, force: true });
}, 180_000);

describe('restart cycles of an isolated stack', () => {
  it(`${CYCLES} cycles of infrastructure restart and make up: every app ready each time, nothing dead-lettered`, async () => {
    let samples = 0;
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      // `make up` starts the infrastructure this stack needs, and returns once every /readyz is 200.
      const up = await tsx('tools/run.ts', 'up');
      expect(up.code, `cycle ${cycle}: make up\n${up.output}\n${stackLogTail()}`).toBe(0);
      // Work flows before the restart: the poller's samples reach Kafka and are consumed.
      const before = samples;
      const deadline = Date.now() + 60_000;
      samples = await endOffsetSum(['granary.samples']);
      while (samples <= before && Date.now() < deadline) {
        await sleep(1000);
        samples = await endOffsetSum(['granary.samples']);
      }
      expect(samples, `cycle ${cycle}: new samples`).toBeGreaterThan(before);
      expect(await endOffsetSum(['granary.samples.dlq', 'granary.measures.dlq']), `cycle ${cycle}`).toBe(0);
      // `make down` stops the apps, then the services that this stack started: all of them.
      const down = await tsx('tools/run.ts', 'down');
      expect(down.code, `cycle ${cycle}: make down\n${down.output}`).toBe(0);
    }
    const final = await tsx('tools/run.ts', 'up');
    expect(final.code, `${final.output}\n${stackLogTail()}`).toBe(0);
    await sleep(5000);
    expect(await endOffsetSum(['granary.samples.dlq', 'granary.measures.dlq'])).toBe(0);
  }, 900_000);
});
