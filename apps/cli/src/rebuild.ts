import { randomUUID } from 'node:crypto';
import type { RebuildLink, RebuildRequest, RebuildStatus } from '@granary/coordination';
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

/** How long to wait for the owner, and how often to ask again. */
export interface RebuildTimings {
  /** From the first request until some processor answers. */
  readonly acceptTimeoutMs: number;
  /** From `accepted` until `done` or `failed`. */
  readonly timeoutMs: number;
  /** Re-publication before an answer: a request published while the owner was not subscribed is lost. */
  readonly republishUntilAcceptedMs: number;
  /** Re-publication after it: an owner restarted meanwhile forgot the id and starts again. */
  readonly republishWhileRunningMs: number;
}

export const REPUBLISH_UNTIL_ACCEPTED_MS = 3_000;
export const REPUBLISH_WHILE_RUNNING_MS = 10_000;

/**
 * Ask the owner of the request's partition to rebuild, and wait for the outcome: the final status
 * (`done` or `failed`). The request is published again every few seconds until a status arrives
 * (requests are idempotent by id, so a repeat is harmless), and the stored status is read at each
 * publication in case a publication of the status was missed. Throws CLI_REBUILD_NOT_ACCEPTED when
 * no processor answers within the accept timeout, CLI_REBUILD_TIMEOUT when the owner accepted but
 * did not finish in time.
 */
export async function awaitRebuild(
  link: RebuildLink,
  request: RebuildRequest,
  timings: RebuildTimings,
  now: () => number = Date.now,
): Promise<RebuildStatus> {
  const listener = link.listen(request.id);
  try {
    const startedAt = now();
    let acceptedAt: number | undefined;
    let nextPublicationAt = startedAt;
    /** The final status, or undefined while the rebuild runs (or has not been accepted yet). */
    const absorb = (status: RebuildStatus | undefined): RebuildStatus | undefined => {
      if (status === undefined) return undefined;
      if (status.state !== 'accepted') return status;
      if (acceptedAt === undefined) {
        acceptedAt = now();
        nextPublicationAt = acceptedAt + timings.republishWhileRunningMs;
      }
      return undefined;
    };
    const deadline = () =>
      acceptedAt === undefined ? startedAt + timings.acceptTimeoutMs : acceptedAt + timings.timeoutMs;
    for (;;) {
      if (now() >= deadline()) throw overdue(request, acceptedAt === undefined, timings);
      if (now() >= nextPublicationAt) {
        await link.publish(request);
        nextPublicationAt =
          now() +
          (acceptedAt === undefined ? timings.republishUntilAcceptedMs : timings.republishWhileRunningMs);
        const final = absorb(await link.storedStatus(request.id));
        if (final) return final;
      }
      const final = absorb(await listener.next(Math.min(nextPublicationAt, deadline()) - now()));
      if (final) return final;
    }
  } finally {
    listener.close();
  }
}

function overdue(request: RebuildRequest, neverAccepted: boolean, timings: RebuildTimings) {
  const where = `partition ${request.partition} of ${request.topic}`;
  const details = { ...request };
  if (neverAccepted) {
    return cliErrors('CLI_REBUILD_NOT_ACCEPTED', `no processor owns ${where} (are processors running?)`, {
      details,
    });
  }
  return cliErrors(
    'CLI_REBUILD_TIMEOUT',
    `the owner of ${where} did not finish rebuilding ${request.metricId} within ${timings.timeoutMs / 1000} s`,
    { details },
  );
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
      if (!cliErrors.is(error, 'CLI_REBUILD_NOT_ACCEPTED') && !cliErrors.is(error, 'CLI_REBUILD_TIMEOUT'))
        throw error;
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
