/**
 * What an idle processor costs (issue 17): the processor bundle over 64 partitions of a topic of its
 * own, nothing arriving, its CPU-seconds per minute read from /proc after a warm-up.
 *
 *   tsx tools/bench/idle-processor.ts [--seconds 60] [--dist dist] [--profile <dir>]
 *
 * `--dist` runs the bundle of another directory (`tsx tools/build/bundle.ts <dir>` builds one), so a
 * change can be measured without replacing dist/; `--profile` writes a `node --cpu-prof` profile.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBenchIndex } from '@granary/testing/postgres';
import { PROJECT_ROOT } from '../../test/infra/settings.ts';
import { deleteScopedTopics, startIsolatedApp } from '../build/isolated-app.ts';
import { RUNNERS } from '../build/launch.ts';
import { cpuSeconds, loadAverage } from './proc.ts';

const PARTITIONS = 64;
const WARM_UP_MS = 15_000;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    dist: { type: 'string', default: 'dist' },
    profile: { type: 'string' },
  },
});
const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl === undefined) throw new Error('DATABASE_URL is not set: source .granary/infra.env first');

const suffix = randomBytes(4).toString('hex');
const scope = `granary-idle-${suffix}`;
const index = await createBenchIndex(databaseUrl, `granary_idle_${suffix}`, [], 'medium');
const storage = mkdtempSync(join(tmpdir(), 'granary-idle-storage-'));
const logFile = join(tmpdir(), `${scope}.log`);
if (values.profile !== undefined) mkdirSync(values.profile, { recursive: true });
const processor = await startIsolatedApp('processor', {
  cwd: PROJECT_ROOT,
  nodeArguments: [
    ...(values.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values.profile}`]),
    ...RUNNERS.dist('processor', values.dist),
  ],
  scope,
  partitions: PARTITIONS,
  storage,
  logFile,
  env: { ...process.env, GRANARY_LOG__LEVEL: 'warn', GRANARY_DATABASE__URL: index.url },
});
console.log(`processor log: ${logFile}`);
try {
  await processor.waitUntilReady(120_000);
  await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS));
  const pid = processor.child.pid as number;
  const before = cpuSeconds(pid) ?? 0;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, Number(values.seconds) * 1000));
  const used = (cpuSeconds(pid) ?? 0) - before;
  const wallSeconds = (performance.now() - started) / 1000;
  console.log(
    `idle processor: ${used.toFixed(2)} CPU-s in ${wallSeconds.toFixed(1)} s = ${((used / wallSeconds) * 60).toFixed(2)} CPU-s/min (load ${loadAverage()})`,
  );
} finally {
  await processor.stop();
  await index.drop();
  rmSync(storage, { recursive: true, force: true });
  await deleteScopedTopics((process.env.KAFKA_BROKERS ?? '').split(','), scope);
}
