import type { StorageConfig } from '@granary/config';
import { createIndex } from '@granary/index';
import { TopicSerde, createSchemaRegistryClient, measureBatchSchema } from '@granary/schema';
import { createObjectStore } from '@granary/storage';
import { defineCommand } from '../command.ts';
import { cliErrors } from '../errors.ts';
import { KafkaTools } from '../kafka-tools.ts';
import { stderrLogger } from '../logger.ts';
import { rangeSize } from '../offset-ranges.ts';
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

export const replay = defineCommand({
  path: ['replay'],
  summary: 'recompute the aggregates of a range of the measures topic into a fresh storage prefix',
  description: [
    "Runs the processor's own apply, checkpoint and compaction over the selected records (Kafka",
    'timestamps or offsets) into --into-bucket (S3, same endpoint) or --into-path (filesystem), then',
    'compacts everything into Gnocchi splits. The live processors keep running. The same range',
    'gives the same bytes, whether into a fresh prefix or again over a previous replay. Refused',
    '(exit 3) when the target is the storage the processors use: claiming its partitions would',
    'fence them. Needs the index (archive policies of the metrics).',
  ].join('\n'),
  options: {
    ...SELECTION_OPTIONS,
    topic: {
      type: 'string',
      valueName: '<topic>',
      description: 'measures topic (default: the configured one)',
    },
    'into-bucket': {
      type: 'string',
      valueName: '<bucket>',
      description: 'S3 bucket to write into (created if missing)',
    },
    'into-path': { type: 'string', valueName: '<dir>', description: 'directory to write into (file driver)' },
  },
  async run({ options }, { config, output }) {
    const { kafka, schemaRegistry, database, storage, topics, log } = config();
    const target = targetStorage(storage, options['into-bucket'], options['into-path']);
    const topic = options.topic ?? topics.measures.name;
    const tools = new KafkaTools(kafka);
    const index = createIndex({ databaseUrl: database.url, maxConnections: 2 });
    try {
      const ranges = await selectRanges(tools, topic, options);
      const serde = await TopicSerde.create(
        createSchemaRegistryClient(schemaRegistry),
        topic,
        measureBatchSchema,
        {
          register: false,
        },
      );
      const store = await createObjectStore(target, { createBucket: true });
      try {
        const report = await replayIntoStore(
          {
            reader: tools,
            store,
            index,
            decode: (values) => serde.decodeAll(values),
            logger: stderrLogger(log.level),
          },
          topic,
          ranges,
          output.progress(`replay ${topic}`, rangeSize(ranges)),
        );
        const rejected = Object.entries(report.rejected).map(([code, count]) => `${code}: ${count}`);
        const text = [
          `replayed ${report.records} records of ${topic} (partitions ${report.partitions.join(', ') || 'none'}) into ${options['into-bucket'] ?? options['into-path']}`,
          ...(rejected.length > 0
            ? [`not applied (dead letters when first processed): ${rejected.join(', ')}`]
            : []),
        ].join('\n');
        return { json: { ...report, ranges }, text };
      } finally {
        await store.close();
      }
    } finally {
      await index.close();
      await tools.close();
    }
  },
});
