import { BatchingProducer, createKafkaClient } from '@granary/kafka';
import { createSchemaRegistryClient } from '@granary/schema';
import { defineCommand } from '../command.ts';
import type { CliConfig } from '../config.ts';
import { redriveDeadLetters, showDeadLetters } from '../dead-letters.ts';
import { KafkaTools } from '../kafka-tools.ts';
import { rangeSize } from '../offset-ranges.ts';
import { WriterSchemaDecoder } from '../record-decoder.ts';
import { SELECTION_OPTIONS, selectRanges } from '../selection-options.ts';

const DEAD_LETTER_FILTERS = {
  ...SELECTION_OPTIONS,
  key: { type: 'string', multiple: true, valueName: '<key>', description: 'only dead letters with this key' },
  'error-code': {
    type: 'string',
    multiple: true,
    valueName: '<code>',
    description: 'only dead letters that failed with this code (e.g. SCHEMA_CORRUPT_RECORD)',
  },
} as const;

const DLQ_TOPIC = {
  name: '[dlq-topic]',
  description: 'dead-letter topic (default: both configured ones, samples and measures)',
  optional: true,
} as const;

const deadLetterTopics = (config: CliConfig, given: string | undefined) =>
  given ? [given] : [config.topics.samplesDeadLetter.name, config.topics.measuresDeadLetter.name];

export const dlqShow = defineCommand({
  path: ['dlq', 'show'],
  summary: 'list dead letters with their error, source and decoded value',
  description: [
    'Text: one line per dead letter and a count per error code. --json: one JSON object per dead',
    "letter (dump's fields plus deadLetter {errorCode, errorMessage, sourceTopic, sourcePartition,",
    'sourceOffset}).',
  ].join('\n'),
  positionals: [DLQ_TOPIC],
  options: DEAD_LETTER_FILTERS,
  async run({ options, positionals }, { config, output }) {
    const tools = new KafkaTools(config().kafka);
    const decoder = new WriterSchemaDecoder(createSchemaRegistryClient(config().schemaRegistry));
    const filter = { keys: options.key, errorCodes: options['error-code'] };
    const summaries: string[] = [];
    try {
      for (const topic of deadLetterTopics(config(), positionals[0])) {
        const ranges = await selectRanges(tools, topic, options, options.key);
        const { byErrorCode } = await showDeadLetters(tools, topic, ranges, decoder, filter, (letter) => {
          if (output.json) return output.line(JSON.stringify(letter));
          const origin = letter.deadLetter
            ? `${letter.deadLetter.errorCode} from ${letter.deadLetter.sourceTopic}[${letter.deadLetter.sourcePartition}]@${letter.deadLetter.sourceOffset}: ${letter.deadLetter.errorMessage}`
            : 'not a dead letter (no granary.error.* headers)';
          output.line(
            `${topic}[${letter.partition}]@${letter.offset} ${letter.timestamp} key=${letter.key ?? '-'} ${origin}`,
          );
        });
        const counts = Object.entries(byErrorCode).map(([code, count]) => `${code}: ${count}`);
        summaries.push(`${topic}: ${counts.length > 0 ? counts.join(', ') : 'no dead letters'}`);
      }
      output.note(summaries.join('\n'));
      return { json: undefined, text: '' };
    } finally {
      await tools.close();
    }
  },
});

export const dlqRedrive = defineCommand({
  path: ['dlq', 'redrive'],
  summary: 'send dead letters back to their source topic (original key, bytes and headers)',
  description: [
    'Once the cause is fixed: each selected dead letter is produced again to the topic it came from',
    '(granary.source.topic header, or --to), with its key (so the same partition), bytes and own',
    'headers, acknowledged by all in-sync replicas. The dead letters stay where they are; redriving',
    'one twice delivers it twice, which the consumers absorb (measures and samples are idempotent).',
    'Narrow with --since/--start-offset to redrive only what came after a previous run.',
  ].join('\n'),
  positionals: [DLQ_TOPIC],
  options: {
    ...DEAD_LETTER_FILTERS,
    to: {
      type: 'string',
      valueName: '<topic>',
      description: 'send to this topic instead of each source topic',
    },
    'dry-run': { type: 'boolean', description: 'list what would be sent, send nothing' },
  },
  async run({ options, positionals }, { config, output }) {
    const { kafka } = config();
    const tools = new KafkaTools(kafka);
    const producer = new BatchingProducer(createKafkaClient(kafka).createSender());
    await producer.connect();
    const filter = { keys: options.key, errorCodes: options['error-code'] };
    const results = [];
    try {
      for (const topic of deadLetterTopics(config(), positionals[0])) {
        const ranges = await selectRanges(tools, topic, options, options.key);
        const redriven = await redriveDeadLetters(
          tools,
          producer,
          topic,
          ranges,
          filter,
          { targetTopic: options.to, dryRun: options['dry-run'] },
          output.progress(`redrive ${topic}`, rangeSize(ranges)),
        );
        results.push({ topic, redriven });
      }
    } finally {
      await producer.close();
      await tools.close();
    }
    const verb = options['dry-run'] ? 'would redrive' : 'redrove';
    const text = results
      .flatMap(({ topic, redriven }) => [
        ...redriven.map(
          (r) =>
            `${verb} ${topic}[${r.from.partition}]@${r.from.offset} -> ${r.to} key=${r.key ?? '-'} (${r.errorCode ?? 'no error code'})`,
        ),
        `${topic}: ${redriven.length} dead letter(s) ${options['dry-run'] ? 'to redrive' : 'redriven'}`,
      ])
      .join('\n');
    return { json: { dryRun: options['dry-run'], topics: results }, text };
  },
});
