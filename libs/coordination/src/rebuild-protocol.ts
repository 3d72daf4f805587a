/**
 * The Redis contract of `granary rebuild` (docs/adr/0012-metric-rebuild.md): a client asks the
 * owner of a metric's partition to recompute the metric from the measures topic; the owner reports
 * progress. Requests are idempotent by `id`: a client re-publishes until it hears back, and an owner
 * that already knows the id re-publishes its status instead of starting again.
 *
 * - Request: JSON {@link RebuildRequest} on channel `granary:rebuild` (offsets as decimal text).
 * - Status: JSON {@link RebuildStatus} published on `granary:rebuild:status` and stored at
 *   `granary:rebuild:<id>` for a day, so a client that subscribed late can still read it.
 */
export const REBUILD_CHANNEL = 'granary:rebuild';
export const REBUILD_STATUS_CHANNEL = 'granary:rebuild:status';
/** How long a finished rebuild's status stays readable. */
export const REBUILD_STATUS_TTL_SECONDS = 86_400;

export function rebuildStatusKey(id: string): string {
  return `granary:rebuild:${id}`;
}

export interface RebuildRequest {
  /** Chosen by the client, unique per rebuild (a UUID). */
  readonly id: string;
  readonly topic: string;
  readonly partition: number;
  readonly metricId: string;
  /** First offset of the partition to recompute from; the metric's state is rebuilt from there. */
  readonly fromOffset: number;
}

/**
 * `accepted`: the owner started; `done`: the recomputed state is checkpointed (`offset` is the
 * manifest offset that covers it, `records` the measure records of the metric read); `failed`:
 * nothing changed that a new request cannot redo (`error` says why).
 */
export type RebuildState = 'accepted' | 'done' | 'failed';

export interface RebuildStatus {
  readonly id: string;
  readonly metricId: string;
  readonly partition: number;
  readonly state: RebuildState;
  readonly records?: number | undefined;
  readonly offset?: number | undefined;
  readonly error?: { readonly code: string; readonly message: string } | undefined;
}

const isOffset = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function parseObject(message: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(message);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function encodeRebuildRequest(request: RebuildRequest): string {
  return JSON.stringify({ ...request, fromOffset: String(request.fromOffset) });
}

/** The request a message carries, or undefined when it is not one. */
export function parseRebuildRequest(message: string): RebuildRequest | undefined {
  const fields = parseObject(message);
  if (!fields) return undefined;
  const { id, topic, partition, metricId } = fields;
  const fromOffset = Number(fields.fromOffset);
  if (typeof id !== 'string' || id === '' || typeof topic !== 'string' || typeof metricId !== 'string')
    return undefined;
  if (!isOffset(partition) || typeof fields.fromOffset !== 'string' || !isOffset(fromOffset))
    return undefined;
  return { id, topic, partition, metricId, fromOffset };
}

export function encodeRebuildStatus(status: RebuildStatus): string {
  return JSON.stringify({
    ...status,
    ...(status.offset === undefined ? {} : { offset: String(status.offset) }),
  });
}

const STATES: readonly string[] = ['accepted', 'done', 'failed'] satisfies RebuildState[];

/** The status a message carries, or undefined when it is not one. */
export function parseRebuildStatus(message: string): RebuildStatus | undefined {
  const fields = parseObject(message);
  if (!fields) return undefined;
  const { id, metricId, partition, state, records, error } = fields;
  const offset = fields.offset === undefined ? undefined : Number(fields.offset);
  if (typeof id !== 'string' || typeof metricId !== 'string' || !isOffset(partition)) return undefined;
  if (typeof state !== 'string' || !STATES.includes(state)) return undefined;
  if (records !== undefined && !isOffset(records)) return undefined;
  if (offset !== undefined && !isOffset(offset)) return undefined;
  const wellFormedError =
    error === undefined ||
    (typeof error === 'object' &&
      error !== null &&
      typeof (error as Record<string, unknown>).code === 'string' &&
      typeof (error as Record<string, unknown>).message === 'string');
  if (!wellFormedError) return undefined;
  return {
    id,
    metricId,
    partition,
    state: state as RebuildState,
    records,
    offset,
    error: error as RebuildStatus['error'],
  };
}
