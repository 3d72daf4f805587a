import { createSchemaRegistryClient } from '@granary/schema';
import { defineCommand } from '../command.ts';
import { dumpRecords } from '../dump.ts';
import { KafkaTools } from '../kafka-tools.ts';
import { rangeSize } from '../offset-ranges.ts';
import { WriterSchemaDecoder } from '../record-decoder.ts';
import { SELECTION_OPTIONS, parseNonNegative, selectRanges } from '../selection-options.ts';

export const dump = defineCommand({
  path: ['dump'],
  summary: 'print records of a topic as JSON lines, Avro values decoded through the registry',
  description: [
    'One JSON object per record on stdout: topic, partition, offset, timestamp, key, headers, value',
    '(decoded with the schema it was written with). A value that cannot be decoded is printed with',
    'error {code, message} and valueBase64, and the dump goes on. Records come in offset order within',
    'a partition; partitions interleave. Bounds combine: e.g. --partition 3 --since PT1H --limit 10.',
    'The output is JSON lines with or without --json.',
  ].join('\n'),
  positionals: [
    { name: '<topic>', description: 'topic to read, e.g. granary.measures or granary.samples.dlq' },
  ],
  options: {
    ...SELECTION_OPTIONS,
    key: {
      type: 'string',
      multiple: true,
      valueName: '<key>',
      description: 'only records with this key (metric id on measures, resource id on samples)',
    },
    limit: { type: 'string', valueName: '<n>', description: 'stop after n records' },
  },
  async run({ options, positionals }, { config, output }) {
    const topic = positionals[0]!;
    const limit = options.limit === undefined ? undefined : Number(parseNonNegative('limit', options.limit));
    const { kafka, schemaRegistry } = config();
    const tools = new KafkaTools(kafka);
    try {
      const ranges = await selectRanges(tools, topic, options, options.key);
      const decoder = new WriterSchemaDecoder(createSchemaRegistryClient(schemaRegistry));
      const progress = output.progress(`dump ${topic}`, rangeSize(ranges));
      const counts = await dumpRecords(
        tools,
        topic,
        ranges,
        decoder,
        { keys: options.key, limit },
        (record) => output.line(JSON.stringify(record)),
        progress,
      );
      output.note(
        `${counts.written} records from ${topic}${counts.undecodable ? ` (${counts.undecodable} undecodable)` : ''}`,
      );
      return { json: undefined, text: '' };
    } finally {
      await tools.close();
    }
  },
});
