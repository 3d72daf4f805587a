import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { CounterReading, Logger } from '@granary/observability';
import type { Redis } from 'ioredis';

/**
 * Each member's status for the console and `/v1/status?details=true`: the counters that otherwise
 * live only in each process's Prometheus metrics, and the rebuilds it is running (whose messages
 * travel over pub/sub and are stored per id, not per member).
 *
 * - Key `granary:status:<topic>:<service>:<member>` holds the JSON {@link MemberStatus} (`v` is
 *   the format version); `<topic>` is the measures topic, so deployments (or tests) sharing a Redis
 *   see only their own members. A member rewrites it every {@link STATUS_INTERVAL_MS}; it expires after three missed
 *   intervals, so a dead member disappears from the page on its own.
 * - Counts are lists of `{ code | reason, count }`, never objects keyed by a code.
 */
export const STATUS_FORMAT_VERSION = 1;
export const STATUS_INTERVAL_MS = 5_000;
export const STATUS_TTL_SECONDS = (3 * STATUS_INTERVAL_MS) / 1000;
const STATUS_KEY_PREFIX = 'granary:status:';

export type StatusService = 'processor' | 'ingest';
const SERVICES: readonly string[] = ['processor', 'ingest'] satisfies StatusService[];

export function memberStatusKey(topic: string, service: StatusService, member: string): string {
  return `${STATUS_KEY_PREFIX}${topic}:${service}:${member}`;
}

/**
 * A member name unique to one running service: host and pid say where it runs, the random part
 * tells apart services sharing a process (tests run two processors in one).
 */
export function newMemberName(): string {
  return `${hostname()} ${process.pid} ${randomBytes(3).toString('hex')}`;
}

export interface CodeCount {
  readonly code: string;
  readonly count: number;
}

export interface RebuildInProgress {
  readonly metricId: string;
  readonly partition: number;
  /** `accepted`: the owner is recomputing the metric (the only phase between request and result). */
  readonly phase: 'accepted';
  /** When the owner accepted it (ms since the epoch). */
  readonly since: number;
}

export interface MemberStatus {
  readonly service: StatusService;
  /** The process's id (the processor's group member id, or ingest's client id and pid). */
  readonly member: string;
  /** When it was written (ms since the epoch). */
  readonly at: number;
  /** Records sent to the dead-letter topic since the member started, by error code. */
  readonly deadLetters: readonly CodeCount[];
  /** Points older than their metric's back window, dropped since the member started (processors). */
  readonly droppedTooOld: number;
  readonly rebuilds: readonly RebuildInProgress[];
}

export function encodeMemberStatus(status: MemberStatus): string {
  return JSON.stringify({ v: STATUS_FORMAT_VERSION, ...status });
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function parseCodeCount(value: unknown): CodeCount | undefined {
  if (!isRecord(value) || typeof value.code !== 'string' || !isCount(value.count)) return undefined;
  return { code: value.code, count: value.count };
}

function parseRebuild(value: unknown): RebuildInProgress | undefined {
  if (!isRecord(value) || typeof value.metricId !== 'string' || value.phase !== 'accepted') return undefined;
  if (!isCount(value.partition) || !isCount(value.since)) return undefined;
  return { metricId: value.metricId, partition: value.partition, phase: value.phase, since: value.since };
}

function parseList<T>(value: unknown, parse: (item: unknown) => T | undefined): T[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const items = value.map(parse);
  return items.every((item) => item !== undefined) ? (items as T[]) : undefined;
}

/** The status a stored value carries, or undefined when it is not one of this format's version. */
export function parseMemberStatus(message: string): MemberStatus | undefined {
  let fields: unknown;
  try {
    fields = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (!isRecord(fields) || fields.v !== STATUS_FORMAT_VERSION) return undefined;
  const { service, member, at, droppedTooOld } = fields;
  if (typeof service !== 'string' || !SERVICES.includes(service) || typeof member !== 'string')
    return undefined;
  if (!isCount(at) || !isCount(droppedTooOld)) return undefined;
  const deadLetters = parseList(fields.deadLetters, parseCodeCount);
  const rebuilds = parseList(fields.rebuilds, parseRebuild);
  if (!deadLetters || !rebuilds) return undefined;
  return { service: service as StatusService, member, at, deadLetters, droppedTooOld, rebuilds };
}

/** Writes one member's status, expiring after three intervals. */
export async function writeMemberStatus(commands: Redis, topic: string, status: MemberStatus): Promise<void> {
  await commands.set(
    memberStatusKey(topic, status.service, status.member),
    encodeMemberStatus(status),
    'EX',
    STATUS_TTL_SECONDS,
  );
}

/** Every live member's status on `topic`, by service then member; malformed values are skipped. */
export async function readMemberStatuses(commands: Redis, topic: string): Promise<MemberStatus[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await commands.scan(
      cursor,
      'MATCH',
      `${STATUS_KEY_PREFIX}${escapeGlob(topic)}:*`,
      'COUNT',
      100,
    );
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await commands.mget(...keys);
  return values
    .map((value) => (value === null ? undefined : parseMemberStatus(value)))
    .filter((status): status is MemberStatus => status !== undefined)
    .sort((a, b) => a.service.localeCompare(b.service) || a.member.localeCompare(b.member));
}

/**
 * Writes `snapshot()` every interval until stopped. A failed write is logged when Redis goes away,
 * not at every interval; the next write after it returns says so.
 */
export class MemberStatusPublisher {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private key: string | undefined;

  constructor(
    private readonly commands: Redis,
    private readonly topic: string,
    private readonly snapshot: () => MemberStatus | Promise<MemberStatus>,
    private readonly logger: Logger,
    private readonly intervalMs = STATUS_INTERVAL_MS,
  ) {}

  start(): void {
    void this.publish();
    this.timer = setInterval(() => void this.publish(), this.intervalMs);
    this.timer.unref();
  }

  async publish(): Promise<void> {
    try {
      const status = await this.snapshot();
      this.key = memberStatusKey(this.topic, status.service, status.member);
      await writeMemberStatus(this.commands, this.topic, status);
      if (this.failing) this.logger.info('member status published again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.warn({ err }, 'member status could not be published; retrying');
      this.failing = true;
    }
  }

  /** Stops writing and removes the status, so a member that stops cleanly leaves the page at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.key === undefined) return;
    try {
      await this.commands.del(this.key);
    } catch (err) {
      this.logger.warn({ err }, 'member status could not be removed; it expires on its own');
    }
  }
}

/** A topic name as a literal in a SCAN pattern (topics may hold no glob characters, but be sure). */
const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

/** A `deadLetters` list from the readings of a counter labelled by code, sorted by code. */
export function codeCounts(readings: readonly CounterReading<'code'>[]): CodeCount[] {
  return readings
    .map(({ labels, value }) => ({ code: String(labels.code), count: value }))
    .sort((a, b) => a.code.localeCompare(b.code));
}
