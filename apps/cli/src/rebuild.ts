import { randomUUID } from 'node:crypto';
import {
  type RebuildLink,
  type RebuildTimings,
  awaitRebuild,
  coordinationErrors,
} from '@granary/coordination';
import { kafkaErrors } from '@granary/kafka';
import { cliErrors, errorAsJson } from './errors.ts';
import type { PartitionBounds } from './kafka-tools.ts';
import type { Progress } from './progress.ts';
import { parseNonNegative } from './selection-options.ts';
import { parseTimeArgument } from './time-argument.ts';

/** Where a metric's rebuild starts: the partition's first retained record, a time, or an offset. */
export type RebuildStart =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'time'; readonly epochMs: number }
  | { readonly kind: 'offset'; readonly offset: bigint };

/** One metric's rebuild as the CLI asks for it. */
export interface RebuildTarget {
  readonly metricId: string;
  readonly partition: number;
  readonly fromOffset: number;
}

/**
 * The first offset of `partition` to recompute from. `offsetsAtTime` is the broker's answer for a
 * `time` start (the end offset where no record is that recent). An offset past the partition's
 * end names records that do not exist yet, so it is taken for a mistake (an offset of another
 * partition, say) rather than sent: the owner would empty the metric.
 */
export function startOffset(
  start: RebuildStart,
  bounds: PartitionBounds,
  offsetsAtTime: ReadonlyMap<number, string> | undefined,
): number {
  if (start.kind === 'earliest') return Number(bounds.low);
  if (start.kind === 'time') {
    const offset = offsetsAtTime?.get(bounds.partition);
    if (offset === undefined) {
      throw kafkaErrors(
        'KAFKA_REQUEST_FAILED',
        `the offsets at ${new Date(start.epochMs).toISOString()} lack partition ${bounds.partition}`,
      );
    }
    return Number(offset);
  }
  if (start.offset > BigInt(bounds.high)) {
    throw cliErrors(
      'CLI_USAGE',
      `--from-offset ${start.offset} is past the end (${bounds.high}) of partition ${bounds.partition}`,
    );
  }
  return Number(start.offset);
}

/** `--from earliest|<time>` or `--from-offset <n>`: exactly one of them. */
export function parseRebuildStart(
  from: string | undefined,
  fromOffset: string | undefined,
  nowMs: number,
): RebuildStart {
  if ((from === undefined) === (fromOffset === undefined)) {
    throw cliErrors('CLI_USAGE', 'rebuild needs exactly one of --from and --from-offset');
  }
  if (fromOffset !== undefined)
    return { kind: 'offset', offset: parseNonNegative('from-offset', fromOffset) };
  if (from === 'earliest') return { kind: 'earliest' };
  return { kind: 'time', epochMs: parseTimeArgument('from', from!, nowMs) };
}

/** A positive number of seconds, as milliseconds. */
export function parseSeconds(option: string, text: string): number {
  const seconds = /^\d+(?:\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds > 0))
    throw cliErrors('CLI_USAGE', `--${option} must be a positive number of seconds, got '${text}'`);
  return seconds * 1000;
}

/** The ids of `--metric` and of `--metrics-file`'s text (one per line, blank lines skipped). */
export function metricArguments(metrics: readonly string[], metricsFileText: string | undefined): string[] {
  const fromFile = (metricsFileText ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const ids = [...metrics, ...fromFile];
  if (ids.length === 0) throw cliErrors('CLI_USAGE', 'rebuild needs --metric or --metrics-file');
  return ids;
}

/**
 * The index's ids of `ids` (its canonical form, once each), every one checked before anything is
 * rebuilt: an unknown metric is CLI_METRIC_NOT_FOUND, one marked deleted CLI_METRIC_DELETED (its
 * storage is being removed; a rebuild would bring it back).
 */
export async function checkedMetricIds(
  ids: readonly string[],
  lookUp: (id: string) => Promise<{ id: string; status: string } | undefined>,
): Promise<string[]> {
  const checked = new Set<string>();
  for (const id of ids) {
    const metric = await lookUp(id);
    if (!metric) throw cliErrors('CLI_METRIC_NOT_FOUND', id);
    if (metric.status === 'delete') throw cliErrors('CLI_METRIC_DELETED', id);
    checked.add(metric.id);
  }
  return [...checked];
}

/** One metric's outcome, as `--json` prints it. */
export type RebuildResult = RebuildTarget &
  (
    | {
        readonly state: 'done';
        /** Measure records of the metric the owner read. */
        readonly records: number | null;
        /** The checkpointed offset covering the rebuilt state. */
        readonly offset: number | null;
      }
    | {
        readonly state: 'failed';
        readonly records: null;
        readonly offset: null;
        readonly error: { readonly code: string; readonly message: string };
      }
  );

/**
 * Rebuild the targets one after another (each owner reads its partition from the start offset, so
 * running several at once would mostly compete for the same partitions). A metric that fails, or
 * that no processor takes, does not stop the others; anything else (Redis lost) stops them all.
 */
export async function rebuildMetrics(
  link: RebuildLink,
  topic: string,
  targets: readonly RebuildTarget[],
  timings: RebuildTimings,
  progress: Progress,
  newId: () => string = randomUUID,
): Promise<RebuildResult[]> {
  const results: RebuildResult[] = [];
  for (const target of targets) {
    const request = { id: newId(), topic, ...target };
    try {
      const status = await awaitRebuild(link, request, timings);
      if (status.state === 'done') {
        results.push({
          ...target,
          records: status.records ?? null,
          offset: status.offset ?? null,
          state: 'done',
        });
      } else {
        const error =
          status.error ?? errorAsJson(cliErrors('CLI_REBUILD_FAILED', 'the owner gave no reason'));
        results.push({ ...target, records: null, offset: null, state: 'failed', error });
      }
    } catch (error) {
      const unanswered =
        coordinationErrors.is(error, 'COORDINATION_REBUILD_NOT_ACCEPTED') ||
        coordinationErrors.is(error, 'COORDINATION_REBUILD_TIMEOUT');
      if (!unanswered) throw error;
      results.push({ ...target, records: null, offset: null, state: 'failed', error: errorAsJson(error) });
    }
    progress.advance(1);
  }
  progress.done();
  return results;
}

export function renderRebuildResult(topic: string, result: RebuildResult): string {
  const source = `${result.metricId} from ${topic}[${result.partition}]@${result.fromOffset}`;
  if (result.state === 'done')
    return `rebuilt ${source}: ${result.records} records, checkpointed at offset ${result.offset}`;
  return `failed  ${source}: ${result.error.message} [${result.error.code}]`;
}
