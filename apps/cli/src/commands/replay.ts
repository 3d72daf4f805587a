import type { StorageConfig } from '@granary/config';
import { createIndex } from '@granary/index';
import { BatchingProducer, createKafkaClient } from '@granary/kafka';
import { TopicSerde, createSchemaRegistryClient, measureBatchSchema } from '@granary/schema';
import { createObjectStore } from '@granary/storage';
import { type CommandOutcome, defineCommand } from '../command.ts';
import type { CliConfig } from '../config.ts';
import { cliErrors } from '../errors.ts';
import { KafkaTools } from '../kafka-tools.ts';
import type { PartitionRange } from '../kafka-tools.ts';
import { stderrLogger } from '../logger.ts';
import { rangeSize } from '../offset-ranges.ts';
import type { Output } from '../output.ts';
import { refeedRecords } from '../refeed.ts';
import { replayIntoStore } from '../replay.ts';
import { SELECTION_OPTIONS, selectRanges } from '../selection-options.ts';

/** The storage `--into-bucket` or `--into-path` names, refused when it is the live one. */
function targetStorage(
  live: StorageConfig,
  bucket: string | undefined,
  path: string | undefined,
): StorageConfig {
  if ((bucket === undefined) === (path === undefined)) {
    throw cliErrors('CLI_USAGE', 'replay needs exactly one of --into-bucket and --into-path');
  }
  const target: StorageConfig =
    bucket !== undefined
      ? { ...live, driver: 's3', s3: { ...live.s3, bucket } }
      : { ...live, driver: 'file', file: { basePath: path! } };
  const sameAsLive =
    target.driver === live.driver &&
    (target.driver === 's3'
      ? target.s3.endpoint === live.s3.endpoint && target.s3.bucket === live.s3.bucket
      : target.file.basePath === live.file.basePath);
  if (sameAsLive) throw cliErrors('CLI_LIVE_STORAGE', bucket ?? path);
  return target;
}

/** `--refeed`: the selected records go back onto their topic for the running pipeline. */
async function refeed(
  config: CliConfig,
  tools: KafkaTools,
  topic: string,
  ranges: PartitionRange[],
  output: Output,
): Promise<CommandOutcome> {
  const producer = new BatchingProducer(createKafkaClient(config.kafka).createSender());
  await producer.connect();
  try {
    const { records } = await refeedRecords(
      tools,
      producer,
      topic,
      ranges,
      output.progress(`refeed ${topic}`, rangeSize(ranges)),
    );
    return {
      json: { mode: 'refeed', topic, records, ranges },
      text: `fed ${records} records of ${topic} again`,
    };
  } finally {
    await producer.close();
  }
}

/** `--into-bucket` / `--into-path`: the processor's code recomputes the range into fresh storage. */
async function replayInto(
  config: CliConfig,
  tools: KafkaTools,
  topic: string,
  ranges: PartitionRange[],
  target: { bucket?: string; path?: string },
  output: Output,
): Promise<CommandOutcome> {
  const storage = targetStorage(config.storage, target.bucket, target.path);
  const index = createIndex({ databaseUrl: config.database.url, maxConnections: 2 });
  try {
    const serde = await TopicSerde.create(
      createSchemaRegistryClient(config.schemaRegistry),
      topic,
      measureBatchSchema,
      {
        register: false,
      },
    );
    const store = await createObjectStore(storage, { createBucket: true });
    try {
      const report = await replayIntoStore(
        {
          reader: tools,
          store,
          index,
          decode: (values) => serde.decodeAll(values),
          logger: stderrLogger(config.log.level),
        },
        topic,
        ranges,
        output.progress(`replay ${topic}`, rangeSize(ranges)),
      );
      const rejected = Object.entries(report.rejected).map(([code, count]) => `${code}: ${count}`);
      const text = [
        `replayed ${report.records} records of ${topic} (partitions ${report.partitions.join(', ') || 'none'}) into ${target.bucket ?? target.path}`,
        ...(rejected.length > 0
          ? [`not applied (dead letters when first processed): ${rejected.join(', ')}`]
          : []),
      ].join('\n');
      return { json: { mode: 'into-storage', ...report, ranges }, text };
    } finally {
      await store.close();
    }
  } finally {
    await index.close();
  }
}

export const replay = defineCommand({
  path: ['replay'],
  summary:
    'process a range of samples or measures again: fed to the pipeline, or into a fresh storage prefix',
  description: [
    'The range is chosen by Kafka timestamps (--since/--until, turned into offsets by the broker) or',
    'offsets, per partition or all; the end is fixed when the command starts. Two modes, one needed:',
    '',
    '--refeed  produce the records again onto their topic (samples or measures; key, bytes and',
    '          headers unchanged) so the running ingest and processors recompute the aggregates.',
    '          Measures merge as Gnocchi does, so feeding the same range twice gives the same bytes.',
    '',
    "--into-bucket <b> | --into-path <dir>   (measures) run the processor's own apply, checkpoint",
    '          and compaction over the range into a fresh S3 bucket (same endpoint) or directory,',
    '          then compact everything into Gnocchi splits; the live processors keep running. The',
    '          same range gives the same bytes, into a fresh prefix or again over a previous replay.',
    '          Refused (exit 3) on the storage the processors use (claiming its partitions would',
    '          fence them). Needs the index (the archive policies of the metrics).',
  ].join('\n'),
  options: {
    ...SELECTION_OPTIONS,
    topic: {
      type: 'string',
      valueName: '<topic>',
      description: 'topic to replay (default: the configured measures topic)',
    },
    refeed: { type: 'boolean', description: 'produce the records again onto their topic' },
    'into-bucket': {
      type: 'string',
      valueName: '<bucket>',
      description: 'S3 bucket to recompute into (created if missing)',
    },
    'into-path': {
      type: 'string',
      valueName: '<dir>',
      description: 'directory to recompute into (file driver)',
    },
  },
  async run({ options }, { config, output }) {
    const modes = [options.refeed, options['into-bucket'] !== undefined, options['into-path'] !== undefined];
    if (modes.filter(Boolean).length !== 1) {
      throw cliErrors('CLI_USAGE', 'replay needs exactly one of --refeed, --into-bucket and --into-path');
    }
    const topic = options.topic ?? config().topics.measures.name;
    const tools = new KafkaTools(config().kafka);
    try {
      const ranges = await selectRanges(tools, topic, options);
      if (options.refeed) return await refeed(config(), tools, topic, ranges, output);
      return await replayInto(
        config(),
        tools,
        topic,
        ranges,
        { bucket: options['into-bucket'], path: options['into-path'] },
        output,
      );
    } finally {
      await tools.close();
    }
  },
});
