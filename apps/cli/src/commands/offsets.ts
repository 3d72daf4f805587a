import { defineCommand } from '../command.ts';
import { type ResetTarget, describeGroupLag, renderGroupLag, resetOffsets } from '../consumer-offsets.ts';
import { cliErrors } from '../errors.ts';
import { KafkaTools } from '../kafka-tools.ts';
import { parseNonNegative } from '../selection-options.ts';
import { parseTimeArgument } from '../time-argument.ts';

export const offsetsShow = defineCommand({
  path: ['offsets', 'show'],
  summary: 'committed offsets and lag per partition of each consumer group',
  description: [
    'Without --group, every consumer group of the cluster. Lag is end offset minus committed offset;',
    'on a partition the group never committed, it counts from the first retained record.',
  ].join('\n'),
  options: {
    group: { type: 'string', multiple: true, valueName: '<id>', description: 'only this consumer group' },
    topic: {
      type: 'string',
      valueName: '<topic>',
      description: 'only this topic (every partition, committed or not)',
    },
  },
  async run({ options }, { config }) {
    const tools = new KafkaTools(config().kafka);
    try {
      if (options.topic) await tools.requireTopic(options.topic);
      const groupIds = options.group.length > 0 ? options.group : await tools.listGroups();
      const groups = [];
      for (const groupId of groupIds) groups.push(await describeGroupLag(tools, groupId, options.topic));
      return {
        json: { groups },
        text: groups.length > 0 ? groups.map(renderGroupLag).join('\n\n') : 'no consumer groups',
      };
    } finally {
      await tools.close();
    }
  },
});

function parseTarget(text: string, nowMs: number): ResetTarget {
  if (text === 'earliest' || text === 'latest') return { kind: text };
  return { kind: 'time', epochMs: parseTimeArgument('to', text, nowMs) };
}

export const offsetsReset = defineCommand({
  path: ['offsets', 'reset'],
  summary: "move a consumer group's committed offsets (refused while the group is active)",
  description: [
    '--to earliest: the first retained record; latest: the end (skip everything); a time: the first',
    'record at or after it (ISO 8601, or a duration ago such as PT1H). Refused with exit 3 while the',
    'group has members: stop its consumers first (e.g. scale the processors to 0).',
  ].join('\n'),
  options: {
    group: { type: 'string', valueName: '<id>', description: 'consumer group (required)' },
    topic: { type: 'string', valueName: '<topic>', description: 'topic whose offsets move (required)' },
    to: { type: 'string', valueName: '<earliest|latest|time>', description: 'where to move them (required)' },
    partition: { type: 'string', multiple: true, valueName: '<n>', description: 'only this partition' },
    'dry-run': { type: 'boolean', description: 'show the moves without committing them' },
  },
  async run({ options }, { config }) {
    const { group, topic, to } = options;
    if (!group || !topic || !to)
      throw cliErrors('CLI_USAGE', 'offsets reset needs --group, --topic and --to');
    const target = parseTarget(to, Date.now());
    const partitions =
      options.partition.length > 0
        ? options.partition.map((p) => Number(parseNonNegative('partition', p)))
        : undefined;
    const tools = new KafkaTools(config().kafka);
    try {
      const result = await resetOffsets(tools, group, topic, target, {
        partitions,
        dryRun: options['dry-run'],
      });
      const verb = result.dryRun ? 'would move' : 'moved';
      const text = result.moves
        .map((m) => `${verb} ${group} ${topic}[${m.partition}]: ${m.from ?? '-'} -> ${m.to}`)
        .join('\n');
      return { json: result, text };
    } finally {
      await tools.close();
    }
  },
});
