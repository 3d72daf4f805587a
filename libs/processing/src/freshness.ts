import type { Logger } from '@granary/observability';
import { Redis } from 'ioredis';
import {
  REBUILD_CHANNEL,
  REBUILD_STATUS_CHANNEL,
  REBUILD_STATUS_TTL_SECONDS,
  type RebuildRequest,
  type RebuildStatus,
  encodeRebuildStatus,
  parseRebuildRequest,
  rebuildStatusKey,
} from './rebuild-protocol.ts';

/**
 * The Redis contract between processors and the query service (docs/adr/0011-processor-refresh-
 * and-watermarks.md). Losing Redis costs freshness, never data: the manifest is the truth.
 *
 * - Watermark: string key `granary:watermark:<topic>:<partition>` = the next Kafka offset not yet
 *   checkpointed (decimal text), only ever raised; each raise is also published on channel
 *   `granary:watermark:<topic>` as `<partition>:<offset>`.
 * - Refresh: the API publishes `{"topic":…,"partition":…,"offset":"<end offset>"}` on channel
 *   `granary:refresh`; the owner checkpoints once it has applied up to `offset` (at once if it has,
 *   or if `offset` is absent), and the API waits for the watermark to reach it.
 */
export const REFRESH_CHANNEL = 'granary:refresh';

export function watermarkKey(topic: string, partition: number): string {
  return `granary:watermark:${topic}:${partition}`;
}

export function watermarkChannel(topic: string): string {
  return `granary:watermark:${topic}`;
}

export interface RefreshRequest {
  readonly topic: string;
  readonly partition: number;
  readonly offset?: number | undefined;
}

export function encodeRefreshRequest(request: RefreshRequest): string {
  return JSON.stringify({
    topic: request.topic,
    partition: request.partition,
    ...(request.offset === undefined ? {} : { offset: String(request.offset) }),
  });
}

/** The request a refresh message carries, or undefined when it is not one. */
export function parseRefreshRequest(message: string): RefreshRequest | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { topic, partition, offset } = parsed as Record<string, unknown>;
  if (typeof topic !== 'string' || !Number.isSafeInteger(partition) || (partition as number) < 0)
    return undefined;
  const offsetNumber = offset === undefined ? undefined : Number(offset);
  if (offsetNumber !== undefined && !(Number.isSafeInteger(offsetNumber) && offsetNumber >= 0))
    return undefined;
  return { topic, partition: partition as number, offset: offsetNumber };
}

// Raise-only, so a late publication from a fenced processor never moves a watermark back.
const RAISE_WATERMARK = `
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('PUBLISH', KEYS[2], ARGV[2])
  return 1
end
return 0`;

/**
 * One processor's side of its Redis contracts, over two connections: watermarks and refresh
 * requests (above), rebuild requests and their status (rebuild-protocol.ts).
 */
export class ProcessorRedis {
  private readonly commands: Redis;
  private readonly subscriber: Redis;

  constructor(
    url: string,
    private readonly topic: string,
    private readonly logger: Logger,
  ) {
    // Fail fast rather than queue: a watermark that cannot be published now is stale anyway.
    const options = { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false };
    this.commands = new Redis(url, options);
    this.subscriber = new Redis(url, { ...options, maxRetriesPerRequest: null });
    for (const connection of [this.commands, this.subscriber]) {
      connection.on('error', (err: Error) => this.logger.warn({ err }, 'redis connection error'));
    }
  }

  async connect(): Promise<void> {
    await Promise.all([this.commands.connect(), this.subscriber.connect()]);
  }

  async publishWatermark(partition: number, offset: number): Promise<void> {
    await this.commands.eval(
      RAISE_WATERMARK,
      2,
      watermarkKey(this.topic, partition),
      watermarkChannel(this.topic),
      String(offset),
      `${partition}:${offset}`,
    );
  }

  /** Calls `handle` for every refresh request of this processor's topic. */
  onRefresh(handle: (request: RefreshRequest) => void): Promise<void> {
    return this.listen(REFRESH_CHANNEL, parseRefreshRequest, 'refresh', handle);
  }

  /** Calls `handle` for every rebuild request of this processor's topic. */
  onRebuild(handle: (request: RebuildRequest) => void): Promise<void> {
    return this.listen(REBUILD_CHANNEL, parseRebuildRequest, 'rebuild', handle);
  }

  /** Stores the status where a late client finds it, then tells the clients listening. */
  async publishRebuildStatus(status: RebuildStatus): Promise<void> {
    const message = encodeRebuildStatus(status);
    await this.commands.set(rebuildStatusKey(status.id), message, 'EX', REBUILD_STATUS_TTL_SECONDS);
    await this.commands.publish(REBUILD_STATUS_CHANNEL, message);
  }

  private async listen<Request extends { readonly topic: string }>(
    channel: string,
    parse: (message: string) => Request | undefined,
    kind: string,
    handle: (request: Request) => void,
  ): Promise<void> {
    this.subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      const request = parse(message);
      if (!request) {
        this.logger.warn({ message }, `ignoring a malformed ${kind} request`);
        return;
      }
      if (request.topic === this.topic) handle(request);
    });
    await this.subscriber.subscribe(channel);
  }

  async close(): Promise<void> {
    await Promise.all([this.commands.quit(), this.subscriber.quit()]);
  }
}
