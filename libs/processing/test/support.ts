import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OutgoingRecord, RangeReader, RecordBatch } from '@granary/kafka';
import { createLogger, createRegistry, prometheusInstruments } from '@granary/observability';
import type { DecodeOutcome, MeasureBatch } from '@granary/schema';
import { FileObjectStore, type ObjectStore } from '@granary/storage';
import type { StreamBatch } from '@granary/testing/stream';
import { afterEach } from 'vitest';
import {
  type FaultInjector,
  type IndexedPolicy,
  type MetricDescription,
  NO_FAULTS,
  PolicyCache,
  ProcessingInstruments,
  Processor,
  type ProcessorSettings,
} from '../index.ts';

export const TOPIC = 'granary.measures';

export const SETTINGS: ProcessorSettings = {
  loadConcurrency: 8,
  compactionConcurrency: 4,
  compactionMaxSegments: 1000,
  maxPendingOffsets: 1_000_000,
  compactionMinSegments: 1,
  compactionGraceMs: 0,
};

export function temporaryStore(): { store: ObjectStore; basePath: string; remove(): void } {
  const basePath = mkdtempSync(join(tmpdir(), 'granary-processing-'));
  return {
    store: new FileObjectStore({ basePath }),
    basePath,
    remove: () => rmSync(basePath, { recursive: true, force: true }),
  };
}

/** For a test file: a fresh file store per call, removed after the test that asked for it. */
export function storePerTest(): () => ObjectStore {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  return () => {
    const temporary = temporaryStore();
    cleanups.push(temporary.remove);
    return temporary.store;
  };
}

/** An index stand-in: metric id → status and policy. */
export function directoryOf(entries: Record<string, MetricDescription>) {
  return {
    lookups: 0,
    async describe(ids: readonly string[]) {
      this.lookups++;
      return new Map(ids.map((id) => [id, entries[id] ?? ({ status: 'unknown' } as const)]));
    },
  };
}

export function activeMetrics(
  ids: readonly string[],
  policy: IndexedPolicy,
): Record<string, MetricDescription> {
  return Object.fromEntries(ids.map((id) => [id, { status: 'active', policy }]));
}

/** Record values are JSON in these tests; the Avro serde has its own tests. */
export function encodeBatch(batch: StreamBatch): Buffer {
  return Buffer.from(
    JSON.stringify({ metric_id: batch.metricId, timestamps: batch.timestamps, values: batch.values }),
  );
}

async function decodeJson(values: readonly Buffer[]): Promise<Array<DecodeOutcome<MeasureBatch>>> {
  return values.map((value) => ({ ok: true, value: JSON.parse(value.toString()) as MeasureBatch }));
}

export interface Harness {
  readonly processor: Processor;
  readonly policies: PolicyCache;
  readonly instruments: ProcessingInstruments;
  readonly deadLetters: OutgoingRecord[];
  /** Checkpoints published (steps 4–5), in order. */
  readonly published: { partition: number; offset: number }[];
  readonly seeks: Map<number, number>;
}

export interface HarnessOptions {
  settings?: Partial<ProcessorSettings>;
  faults?: FaultInjector;
  nowUs?: () => number;
  /** Partition 0 as Kafka keeps it (record `i` at offset `i`), for rebuilds to read again. */
  topicLog?: readonly StreamBatch[];
  /** Awaited at the start of every read of `topicLog` (to apply batches while a rebuild reads). */
  beforeRead?: () => Promise<void>;
}

/** Reads `log` as partition 0 of the topic, CHUNK records per delivery. */
function logReader(log: readonly StreamBatch[], beforeRead?: () => Promise<void>): RangeReader {
  return {
    async readRanges(_topic, ranges, onRecords) {
      await beforeRead?.();
      for (const range of ranges) {
        const end = Math.min(Number(range.end), log.length);
        for (let offset = Number(range.start); offset < end; offset += READ_CHUNK) {
          const chunk = log.slice(offset, Math.min(end, offset + READ_CHUNK));
          if ((await onRecords(recordBatch(range.partition, offset, chunk).records)) === 'stop') return;
        }
      }
    },
  };
}

const READ_CHUNK = 25;

export function createHarness(
  store: ObjectStore,
  directory: { describe(ids: readonly string[]): Promise<Map<string, MetricDescription>> },
  options: HarnessOptions = {},
): Harness {
  const instruments = new ProcessingInstruments(prometheusInstruments(createRegistry('processing-test')));
  const deadLetters: OutgoingRecord[] = [];
  const published: { partition: number; offset: number }[] = [];
  const seeks = new Map<number, number>();
  let clock = 1_000_000;
  const policies = new PolicyCache(directory);
  const processor = new Processor({
    store,
    topic: TOPIC,
    policies,
    instruments,
    faults: options.faults ?? NO_FAULTS,
    logger: createLogger('processing-test', 'silent'),
    nowUs: options.nowUs ?? (() => clock++),
    publication: {
      publish: async (partition, offset) => {
        published.push({ partition, offset });
        return true;
      },
    },
    settings: { ...SETTINGS, ...options.settings },
    decode: decodeJson,
    deadLetters: {
      send: async (records) => {
        deadLetters.push(...records);
      },
    },
    deadLetterTopic: `${TOPIC}.dlq`,
    seek: (partition, offset) => seeks.set(partition, offset),
    rangeReader: logReader(options.topicLog ?? [], options.beforeRead),
  });
  return { processor, policies, instruments, deadLetters, published, seeks };
}

/** Kafka-like batches of one partition: `records[i]` sits at offset `firstOffset + i`. */
export function recordBatch(
  partition: number,
  firstOffset: number,
  batches: readonly StreamBatch[],
): RecordBatch {
  return {
    topic: TOPIC,
    partition,
    highWatermark: String(firstOffset + batches.length),
    records: batches.map((batch, index) => ({
      topic: TOPIC,
      partition,
      offset: String(firstOffset + index),
      key: Buffer.from(batch.metricId),
      value: encodeBatch(batch),
      headers: {},
      timestamp: '0',
    })),
  };
}
