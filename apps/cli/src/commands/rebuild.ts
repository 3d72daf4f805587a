import { readFile } from 'node:fs/promises';
import {
  REPUBLISH_UNTIL_ACCEPTED_MS,
  REPUBLISH_WHILE_RUNNING_MS,
  RedisRebuildLink,
} from '@granary/coordination';
import { createIndex } from '@granary/index';
import { partitionFor } from '@granary/kafka';
import { defineCommand } from '../command.ts';
import { EXIT_CODES, cliErrors } from '../errors.ts';
import { KafkaTools } from '../kafka-tools.ts';
import { stderrLogger } from '../logger.ts';
import {
  type RebuildStart,
  type RebuildTarget,
  checkedMetricIds,
  metricArguments,
  parseRebuildStart,
  parseSeconds,
  rebuildMetrics,
  renderRebuildResult,
  startOffset,
} from '../rebuild.ts';

async function readMetricsFile(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw cliErrors('CLI_USAGE', `cannot read --metrics-file ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** Each metric's partition of `topic` and the offset its rebuild starts at. */
async function planRebuilds(
  tools: KafkaTools,
  topic: string,
  metricIds: readonly string[],
  start: RebuildStart,
): Promise<RebuildTarget[]> {
  const bounds = await tools.partitionBounds(topic);
  const offsetsAtTime = start.kind === 'time' ? await tools.offsetsAtTime(topic, start.epochMs) : undefined;
  return metricIds.map((metricId) => {
    const partition = partitionFor(metricId, bounds.length);
    return { metricId, partition, fromOffset: startOffset(start, bounds[partition]!, offsetsAtTime) };
  });
}

export const rebuild = defineCommand({
  path: ['rebuild'],
  summary: "recompute metrics from the measures topic into the live storage, by their partition's owner",
  description: [
    'For a metric whose stored aggregates are wrong (archive policy changed, a bug fixed, an object',
    'damaged): the processor that owns its partition recomputes it while everything keeps running;',
    'the CLI asks it through Redis and waits for the answer.',
    '',
    "The metric's whole stored state (compacted splits, raw tail, live deltas) is REPLACED by",
    'what its measure records at offsets >= the start recompute to, with its current archive policy:',
    '  --from earliest      everything the topic still retains. Older measures, already gone from the',
    '                       topic by retention, are gone from the metric too.',
    '  --from <time>        the first record at or after that time (ISO 8601, or a duration ago such',
    '                       as PT6H). Everything the metric held from before it is dropped.',
    "  --from-offset <n>    offset n of the metric's partition (the same n for every metric).",
    '',
    'Every metric is looked up in the index first; an unknown one (exit 1) or one marked deleted',
    '(exit 3) stops the command before anything is rebuilt. Then the metrics are rebuilt one after',
    'another. One that fails, or that no processor takes within --accept-timeout, does not stop the',
    'others; the exit code is then 1. --json: one JSON line per metric {metricId, partition,',
    'fromOffset, records, offset, state} (plus error {code, message} when it failed).',
  ].join('\n'),
  options: {
    metric: { type: 'string', multiple: true, valueName: '<uuid>', description: 'metric to rebuild' },
    'metrics-file': {
      type: 'string',
      valueName: '<path>',
      description: 'file of metric ids to rebuild, one per line',
    },
    from: {
      type: 'string',
      valueName: '<earliest|time>',
      description: 'recompute from the first retained record, or from this time',
    },
    'from-offset': {
      type: 'string',
      valueName: '<n>',
      description: "recompute from this offset of each metric's partition",
    },
    'accept-timeout': {
      type: 'string',
      valueName: '<seconds>',
      description: 'how long a processor has to take a request (default 15)',
    },
    timeout: {
      type: 'string',
      valueName: '<seconds>',
      description: 'how long a taken rebuild has to finish (default 600)',
    },
  },
  async run({ options }, { config, output }) {
    const requested = metricArguments(options.metric, await readMetricsFile(options['metrics-file']));
    const start = parseRebuildStart(options.from, options['from-offset'], Date.now());
    const timings = {
      acceptTimeoutMs: parseSeconds('accept-timeout', options['accept-timeout'] ?? '15'),
      timeoutMs: parseSeconds('timeout', options.timeout ?? '600'),
      republishUntilAcceptedMs: REPUBLISH_UNTIL_ACCEPTED_MS,
      republishWhileRunningMs: REPUBLISH_WHILE_RUNNING_MS,
    };
    const { database, kafka, redis, log, topics } = config();
    const topic = topics.measures.name;

    const index = createIndex({ databaseUrl: database.url, maxConnections: 1 });
    const metricIds = await checkedMetricIds(requested, (id) => index.metrics.get(id)).finally(() =>
      index.close(),
    );
    const tools = new KafkaTools(kafka);
    const targets = await planRebuilds(tools, topic, metricIds, start).finally(() => tools.close());

    const link = await RedisRebuildLink.open(redis, stderrLogger(log.level));
    const results = await rebuildMetrics(
      link,
      topic,
      targets,
      timings,
      output.progress('rebuild', targets.length),
    ).finally(() => link.close());

    const failed = results.filter((result) => result.state === 'failed').length;
    if (output.json) for (const result of results) output.line(JSON.stringify(result));
    const summary = `${results.length - failed} of ${results.length} metrics rebuilt${failed > 0 ? `, ${failed} failed` : ''}`;
    return {
      json: undefined,
      text: [...results.map((result) => renderRebuildResult(topic, result)), summary].join('\n'),
      exitCode: failed > 0 ? EXIT_CODES.failure : EXIT_CODES.ok,
    };
  },
});
