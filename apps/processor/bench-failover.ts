/**
 * Failover benchmark (`make bench`; issue 15: at most 10 s). Two production processors
 * (dist/processor.mjs) share a fresh 16-partition measures topic, storage on S3Proxy; a steady
 * trickle reaches every partition; one processor is killed with SIGKILL. Measured per orphaned
 * partition: from the kill to the survivor's first applied batch of it, i.e. the moment the
 * survivor's `granary_processor_consumer_lag{partition}` series appears on its /metrics (set
 * after each applied batch; no batch is produced before both own their partitions, so the
 * survivor has no series for the victim's). Also printed: when the group was stable again with
 * the survivor alone (session timeout + rebalance) and the survivor's assigned → first applied
 * time (claim + load from storage). Figures are printed, never asserted; the load average with them.
 */
import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@granary/config';
import { BatchingProducer, type TopicAdmin, createKafkaClient } from '@granary/kafka';
import { TopicSerde, createSchemaRegistryClient, measureBatchSchema } from '@granary/schema';
import { S3ObjectStore } from '@granary/storage';
import { createBenchIndex } from '@granary/testing/postgres';
import { PROJECT_ROOT } from '@granary/testing/settings';
import { type IsolatedApp, startIsolatedApp } from '../../tools/build/isolated-app.ts';
import { RUNNERS } from '../../tools/build/launch.ts';
import { generateMetricIds, roundOf } from './bench-stream.ts';
import { ProcessorConfigSchema } from './index.ts';

const PARTITIONS = 16;
const METRICS_PER_PARTITION = 4;
const TRICKLE_INTERVAL_MS = 100;
const REPETITIONS = 3;
const POLL_MS = 25;
const READY_TIMEOUT_MS = 120_000;
const FAILOVER_TIMEOUT_MS = 120_000;

const suffix = randomBytes(4).toString('hex');
const base = loadConfig(ProcessorConfigSchema);
const ids = generateMetricIds(PARTITIONS * METRICS_PER_PARTITION);
const logFile = join(tmpdir(), `granary-bench-failover-${suffix}.log`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (since: number) => (performance.now() - since) / 1000;

async function scrape(app: IsolatedApp): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${app.adminPort}/metrics`);
  return response.text();
}

interface Sample {
  name: string;
  labels: string;
  value: number;
}

/** The samples of a Prometheus text exposition (labels kept as their raw text). */
function samples(metrics: string): Sample[] {
  const lines = metrics.matchAll(/^(\w+)(?:\{([^}]*)\})? (\S+)$/gm);
  return [...lines].map(([, name, labels, value]) => ({
    name: name as string,
    labels: labels ?? '',
    value: Number(value),
  }));
}

/** Partitions this processor has applied at least one batch of (its consumer-lag series). */
function appliedPartitions(metrics: string): Set<number> {
  return new Set(
    samples(metrics)
      .filter(({ name }) => name === 'granary_processor_consumer_lag')
      .map(({ labels }) => Number(labels.match(/partition="(\d+)"/)?.[1])),
  );
}

function sample(metrics: string, name: string): number {
  return samples(metrics).find((entry) => entry.name === name)?.value ?? 0;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + FAILOVER_TIMEOUT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`failover bench: timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/** Sends one measure per metric every interval, each metric always to the same partition. */
function startTrickle(topic: string) {
  const kafka = createKafkaClient(base.kafka);
  const producer = new BatchingProducer(kafka.createSender());
  let running = true;
  const done = (async () => {
    const serde = await TopicSerde.create(
      createSchemaRegistryClient(base.schemaRegistry),
      topic,
      measureBatchSchema,
    );
    await producer.connect();
    for (let round = 0; running; round++) {
      const records = roundOf(ids, round, 1).map((batch, metric) => ({
        topic,
        key: batch.metric_id,
        value: serde.encode(batch),
        partition: metric % PARTITIONS,
      }));
      await Promise.all([producer.send(records), sleep(TRICKLE_INTERVAL_MS)]);
    }
    await producer.close();
  })();
  return {
    async stop() {
      running = false;
      await done;
    },
  };
}

interface Failover {
  orphans: number;
  firstApplied: number[];
  groupStable: number;
  claimToApplied: number;
}

async function failoverOnce(admin: TopicAdmin, databaseUrl: string, repetition: number): Promise<Failover> {
  const scope = `granary-bench-failover-${suffix}-${repetition}`;
  const topic = `${scope}.measures`;
  const groupId = `${scope}.processors`;
  // A bucket per run: the same metrics start over from the same timestamps each time.
  const bucket = scope;
  const start = () =>
    startIsolatedApp('processor', {
      cwd: PROJECT_ROOT,
      nodeArguments: RUNNERS.dist('processor'),
      scope,
      partitions: PARTITIONS,
      // kafkajs logs every rebalance at error level: kept out of the report, kept for a look.
      logFile,
      env: {
        ...process.env,
        GRANARY_LOG__LEVEL: 'warn',
        GRANARY_DATABASE__URL: databaseUrl,
        GRANARY_STORAGE__DRIVER: 's3',
        GRANARY_STORAGE__S3__BUCKET: bucket,
        GRANARY_PROCESSOR__CREATE_BUCKET: 'true',
      },
    });
  const survivor = await start();
  const victim = await start();
  let trickle: ReturnType<typeof startTrickle> | undefined;
  try {
    await survivor.waitUntilReady(READY_TIMEOUT_MS);
    await victim.waitUntilReady(READY_TIMEOUT_MS);
    // Both own partitions before any record exists, so neither has applied the other's.
    await until('both processors to own partitions', async () => {
      const owners = await admin.partitionOwners(groupId, topic);
      return owners.size === PARTITIONS && new Set(owners.values()).size === 2 ? true : undefined;
    });
    trickle = startTrickle(topic);
    const orphans = await until("the victim's first batches", async () => {
      const [mine, theirs] = [
        appliedPartitions(await scrape(survivor)),
        appliedPartitions(await scrape(victim)),
      ];
      if (mine.size + theirs.size < PARTITIONS) return undefined;
      if ([...theirs].some((partition) => mine.has(partition)))
        throw new Error('failover bench: both processors applied the same partition before the kill');
      return theirs;
    });
    const before = await scrape(survivor);
    const recoveries = {
      sum: sample(before, 'granary_processor_recovery_seconds_sum'),
      count: sample(before, 'granary_processor_recovery_seconds_count'),
    };

    const killedAt = performance.now();
    victim.child.kill('SIGKILL');
    const firstApplied = new Map<number, number>();
    let groupStable: number | undefined;
    await until('every orphaned partition to be applied by the survivor', async () => {
      const applied = appliedPartitions(await scrape(survivor));
      for (const partition of orphans) {
        if (applied.has(partition) && !firstApplied.has(partition))
          firstApplied.set(partition, seconds(killedAt));
      }
      if (
        groupStable === undefined &&
        new Set((await admin.partitionOwners(groupId, topic)).values()).size === 1
      )
        groupStable = seconds(killedAt);
      return firstApplied.size === orphans.size ? true : undefined;
    });
    const after = await scrape(survivor);
    const recovered = sample(after, 'granary_processor_recovery_seconds_count') - recoveries.count;
    return {
      orphans: orphans.size,
      firstApplied: [...firstApplied.values()].sort((a, b) => a - b),
      groupStable: groupStable ?? Number.NaN,
      claimToApplied:
        (sample(after, 'granary_processor_recovery_seconds_sum') - recoveries.sum) / Math.max(recovered, 1),
    };
  } finally {
    await trickle?.stop();
    victim.child.kill('SIGKILL');
    await survivor.stop();
    await victim.stop();
    await admin.deleteTopics([topic, `${topic}.dlq`]);
    const store = new S3ObjectStore({ ...base.storage.s3, bucket });
    await store.delete(await store.list(''));
    await store.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `failover bench: 2 processors (dist), ${PARTITIONS} partitions, ${ids.length} metrics trickled every ${TRICKLE_INTERVAL_MS} ms, session ${base.processor.sessionTimeoutMs} ms; kill -9 of one → survivor's first applied batch of each orphaned partition`,
  );
  console.log(`  processors' logs: ${logFile}`);
  const database = await createBenchIndex(
    base.database.url,
    `granary_bench_failover_${suffix}`,
    ids,
    'medium',
  );
  const admin = createKafkaClient(base.kafka).createAdmin();
  await admin.connect();
  try {
    for (let repetition = 1; repetition <= REPETITIONS; repetition++) {
      const run = await failoverOnce(admin, database.url, repetition);
      const median = run.firstApplied[Math.floor((run.firstApplied.length - 1) / 2)] ?? Number.NaN;
      const max = run.firstApplied[run.firstApplied.length - 1] ?? Number.NaN;
      console.log(
        `  run ${repetition}: failover max ${max.toFixed(2)} s, median ${median.toFixed(2)} s over ${run.orphans} orphaned partitions; group stable with the survivor alone after ${run.groupStable.toFixed(2)} s; assigned → first applied ${run.claimToApplied.toFixed(3)} s per partition (load average ${loadavg()
          .map((load) => load.toFixed(2))
          .join(' ')})`,
      );
    }
  } finally {
    await admin.disconnect();
    await database.drop();
  }
}

await main();
