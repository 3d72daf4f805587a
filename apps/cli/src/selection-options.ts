import type { OptionSpecs, OptionValues } from './command.ts';
import { cliErrors } from './errors.ts';
import type { KafkaTools, PartitionRange } from './kafka-tools.ts';
import { resolveRanges } from './offset-ranges.ts';
import { parseTimeArgument } from './time-argument.ts';

/** The options that choose part of a topic, shared by the commands that read one. */
export const SELECTION_OPTIONS = {
  partition: { type: 'string', multiple: true, valueName: '<n>', description: 'only this partition' },
  'start-offset': {
    type: 'string',
    valueName: '<offset>',
    description: 'first offset to read (every partition)',
  },
  'end-offset': {
    type: 'string',
    valueName: '<offset>',
    description: 'offset to stop before (every partition)',
  },
  since: {
    type: 'string',
    valueName: '<time>',
    description: 'records at or after this time: ISO 8601 (UTC if no zone) or a duration ago (PT15M, P1D)',
  },
  until: {
    type: 'string',
    valueName: '<time>',
    description: 'records before this time (same forms as --since)',
  },
} as const satisfies OptionSpecs;

/** A non-negative integer option. */
export function parseNonNegative(option: string, text: string): bigint {
  if (!/^\d+$/.test(text))
    throw cliErrors('CLI_USAGE', `--${option} must be a non-negative integer, got '${text}'`);
  return BigInt(text);
}

/**
 * The per-partition offset ranges the selection options name on `topic`, with times turned into
 * offsets by the broker's time index. `keys` narrows the partitions to those the keys route to.
 */
export async function selectRanges(
  tools: KafkaTools,
  topic: string,
  options: OptionValues<typeof SELECTION_OPTIONS>,
  keys: readonly string[] = [],
  nowMs: number = Date.now(),
): Promise<PartitionRange[]> {
  const since = options.since === undefined ? undefined : parseTimeArgument('since', options.since, nowMs);
  const until = options.until === undefined ? undefined : parseTimeArgument('until', options.until, nowMs);
  const startOffset =
    options['start-offset'] === undefined
      ? undefined
      : parseNonNegative('start-offset', options['start-offset']);
  const endOffset =
    options['end-offset'] === undefined ? undefined : parseNonNegative('end-offset', options['end-offset']);
  const partitions = options.partition.map((p) => Number(parseNonNegative('partition', p)));
  const bounds = await tools.partitionBounds(topic);
  return resolveRanges(bounds, {
    partitions: partitions.length > 0 ? partitions : undefined,
    keys,
    startOffset,
    endOffset,
    startAtTime: since === undefined ? undefined : await tools.offsetsAtTime(topic, since),
    endAtTime: until === undefined ? undefined : await tools.offsetsAtTime(topic, until),
  });
}
