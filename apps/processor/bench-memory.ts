/**
 * Memory at scale (issue 17): the processing core (libs/processing Processor, file object store in
 * a temporary directory, no Kafka) with `--metrics N` active metrics on `medium` over 64
 * partitions, each fed `--rounds R` batches of one measure a minute (Ceilometer's shape). Prints
 * RSS and heap used after a forced GC, bytes per active metric, and for a full checkpoint (every
 * metric dirty) and a second one (one more measure per metric) the wall time, the CPU and the
 * longest the event loop waited meanwhile.
 * Run with `node --expose-gc` (the npm script does); `--metrics 1000000` is the target
 * (about 3 GiB of RSS, 1 GiB of heap: Node's default heap limit is enough).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { DEFAULT_AGGREGATION_METHODS, GNOCCHI_DEFAULT_ARCHIVE_POLICIES } from '@granary/index';
import type { ConsumedRecord } from '@granary/kafka';
import { createLogger } from '@granary/observability';
import {
  type IndexedPolicy,
  type MetricDescription,
  NO_FAULTS,
  NO_PUBLICATION,
  PolicyCache,
  ProcessingInstruments,
  Processor,
} from '@granary/processing';
import type { DecodeOutcome, MeasureBatch } from '@granary/schema';
import { FileObjectStore } from '@granary/storage';
import { generateMetricIds } from './bench-stream.ts';

const PARTITIONS = 64;
/** Records per handleBatch call, about what one Kafka fetch brings per partition. */
const RECORDS_PER_BATCH = 500;
const START_US = Date.UTC(2026, 0, 1) * 1000;
const MINUTE_US = 60_000_000;

const { values: args } = parseArgs({
  options: {
    metrics: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
    /**
     * Checkpoint after every round, as the processor's 5 s timer does within each minute: after
     * load every metric then holds its raw tail only (up to the hour's 60 points of `medium`).
     */
    'checkpoint-every-round': { type: 'boolean', default: false },
    /** Also write a heap snapshot after load and print its bytes per metric by constructor. */
    'heap-summary': { type: 'boolean', default: false },
  },
});
const METRICS = Number(args.metrics);
const ROUNDS = Number(args.rounds);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (tsx passes it on: tsx --expose-gc bench-memory.ts)');

const medium = GNOCCHI_DEFAULT_ARCHIVE_POLICIES.find((policy) => policy.name === 'medium');
const MEDIUM: IndexedPolicy = {
  name: 'medium',
  backWindow: 0,
  definition: (medium?.definition ?? []).map(({ granularity, points }) => ({
    granularity: granularity as number,
    points: points as number,
    timespan: (granularity as number) * (points as number),
  })),
  aggregationMethods: DEFAULT_AGGREGATION_METHODS,
};
const ACTIVE: MetricDescription = { status: 'active', policy: MEDIUM };

const MiB = 2 ** 20;
const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

function memory() {
  gc?.();
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapTotal, heapUsed, external, arrayBuffers };
}

function describeMemory(label: string, metrics: number, baseline: ReturnType<typeof memory>): void {
  const now = memory();
  const perMetric = (bytes: number) => Math.round(bytes / metrics);
  console.log(
    `${label}: RSS ${Math.round(now.rss / MiB)} MiB, heap used ${Math.round(now.heapUsed / MiB)} MiB (of ${Math.round(now.heapTotal / MiB)} MiB), external ${Math.round(now.external / MiB)} MiB (array buffers ${Math.round(now.arrayBuffers / MiB)} MiB); per active metric above the empty process: RSS ${perMetric(now.rss - baseline.rss)} B, heap ${perMetric(now.heapUsed - baseline.heapUsed)} B, external ${perMetric(now.external - baseline.external)} B`,
  );
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/**
 * Self size and count of the heap's objects per constructor (hidden and native objects by V8's
 * name, e.g. `system / Map`; strings, arrays and code by kind), per active metric, largest first.
 * External backing stores of typed arrays are not in it (see "external" above).
 */
function printHeapSummary(path: string, metrics: number): void {
  gc?.();
  writeHeapSnapshot(path);
  const heap = JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshot;
  rmSync(path);
  const fields = heap.snapshot.meta.node_fields;
  const [typeNames] = heap.snapshot.meta.node_types;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field));
  const byKind = new Map<string, { count: number; bytes: number }>();
  for (let node = 0; node < heap.nodes.length; node += fields.length) {
    const type = typeNames[heap.nodes[node + (typeAt as number)] as number] as string;
    const name = heap.strings[heap.nodes[node + (nameAt as number)] as number] as string;
    const kind =
      type === 'object' || type === 'closure'
        ? name
        : type === 'hidden' || type === 'native'
          ? `(${type}) ${name.slice(0, 40)}`
          : `(${type})`;
    const entry = byKind.get(kind) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += heap.nodes[node + (sizeAt as number)] as number;
    byKind.set(kind, entry);
  }
  const top = [...byKind].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 25);
  console.log('heap by constructor after load, per active metric (self size, objects):');
  for (const [kind, { count, bytes }] of top) {
    console.log(
      `  ${(bytes / metrics).toFixed(0).padStart(6)} B  ${(count / metrics).toFixed(2).padStart(7)}  ${kind}`,
    );
  }
}

async function main(): Promise<void> {
  console.log(
    `processor memory bench: ${METRICS} active metrics (medium), ${ROUNDS} rounds of 1 measure per metric${args['checkpoint-every-round'] ? ', a checkpoint after each' : ''}, ${PARTITIONS} partitions, file store`,
  );
  const basePath = mkdtempSync(join(tmpdir(), 'granary-bench-memory-'));
  const baseline = memory();
  const ids = generateMetricIds(METRICS);
  const byPartition: string[][] = Array.from({ length: PARTITIONS }, () => []);
  ids.forEach((id, index) => byPartition[index % PARTITIONS]?.push(id));

  // The records of the batch being handled, already decoded: the serde's cost is not this bench's.
  let decoded: DecodeOutcome<MeasureBatch>[] = [];
  const processor = new Processor({
    store: new FileObjectStore({ basePath }),
    topic: 'granary.measures',
    policies: new PolicyCache({
      describe: async (metricIds) => new Map(metricIds.map((id) => [id, ACTIVE])),
    }),
    instruments: new ProcessingInstruments(),
    faults: NO_FAULTS,
    logger: createLogger('processor-bench-memory', 'warn'),
    nowUs: () => Date.now() * 1000,
    publication: NO_PUBLICATION,
    settings: {
      loadConcurrency: 16,
      compactionConcurrency: 4,
      compactionMaxSegments: 1000,
      // Checkpoints are taken by the bench only.
      maxPendingOffsets: Number.MAX_SAFE_INTEGER,
      compactionMinSegments: 1,
      compactionGraceMs: 0,
    },
    decode: async () => decoded,
    deadLetters: { send: async () => {} },
    deadLetterTopic: 'granary.measures.dlq',
    seek: () => {},
  });
  await processor.assign(Array.from({ length: PARTITIONS }, (_, partition) => partition));

  const nextOffsets = new Array<number>(PARTITIONS).fill(0);
  const empty = Buffer.alloc(0);
  const feedRound = async (round: number) => {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const members = byPartition[partition] as string[];
      for (let first = 0; first < members.length; first += RECORDS_PER_BATCH) {
        const slice = members.slice(first, first + RECORDS_PER_BATCH);
        const offset = nextOffsets[partition] as number;
        decoded = slice.map((metric_id, index) => ({
          ok: true,
          value: { metric_id, timestamps: [START_US + round * MINUTE_US], values: [(index + round) % 100] },
        }));
        const records: ConsumedRecord[] = slice.map((_, index) => ({
          topic: 'granary.measures',
          partition,
          offset: String(offset + index),
          key: null,
          value: empty,
          headers: {},
          timestamp: '0',
        }));
        nextOffsets[partition] = offset + slice.length;
        await processor.handleBatch({
          topic: 'granary.measures',
          partition,
          records,
          highWatermark: String(offset + slice.length),
        });
      }
    }
    decoded = [];
  };

  const loadStarted = process.hrtime.bigint();
  const loadCpu = process.cpuUsage();
  for (let round = 0; round < ROUNDS; round++) {
    await feedRound(round);
    if (args['checkpoint-every-round']) await processor.checkpointAll();
  }
  const load = process.cpuUsage(loadCpu);
  console.log(
    `load: ${METRICS * ROUNDS} measures applied in ${seconds(loadStarted).toFixed(1)} s (${((load.user + load.system) / 1e6).toFixed(1)} CPU s; includes one stored raw-tail read per metric${args['checkpoint-every-round'] ? ' and the checkpoints' : ''}); metrics in memory: ${processor.metricsInMemory}`,
  );
  describeMemory('after load', METRICS, baseline);
  if (args['heap-summary']) printHeapSummary(join(basePath, 'after-load.heapsnapshot'), METRICS);

  const checkpoint = async (label: string) => {
    // How long timers (the consumer's heartbeat, SIGTERM's handler) waited at worst meanwhile.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    await processor.checkpointAll();
    const used = process.cpuUsage(cpu);
    loopDelay.disable();
    console.log(
      `${label}: ${seconds(started).toFixed(2)} s wall, ${((used.user + used.system) / 1e6).toFixed(2)} CPU s (user ${(used.user / 1e6).toFixed(2)}, system ${(used.system / 1e6).toFixed(2)}), event loop blocked ${Math.round(loopDelay.max / 1e6)} ms at most`,
    );
  };
  await checkpoint(`checkpoint 1 (all ${METRICS} metrics dirty, ${PARTITIONS} segments)`);
  describeMemory('after checkpoint 1', METRICS, baseline);
  await feedRound(ROUNDS);
  await checkpoint('checkpoint 2 (after one more measure per metric)');
  describeMemory('after checkpoint 2', METRICS, baseline);

  await processor.revoke(processor.partitions);
  rmSync(basePath, { recursive: true, force: true });
}

await main();
