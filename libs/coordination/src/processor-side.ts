import type { Logger } from '@granary/observability';
import type { Redis } from 'ioredis';
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
import { type RedisClientConfig, createRedisClient, warnOnConnectionError } from './redis-client.ts';
import {
  RAISE_WATERMARK_SCRIPT,
  REFRESH_CHANNEL,
  type RefreshRequest,
  encodeWatermarkRaise,
  parseRefreshRequest,
  watermarkChannel,
  watermarkKey,
} from './refresh-protocol.ts';
import { type MemberStatus, MemberStatusPublisher } from './status-protocol.ts';

/**
 * One processor's side of its Redis contracts, over two connections: watermarks and refresh
 * requests (refresh-protocol.ts), rebuild requests and their status (rebuild-protocol.ts).
 */
export class ProcessorRedis {
  private readonly commands: Redis;
  private readonly subscriber: Redis;

  constructor(
    config: RedisClientConfig,
    private readonly topic: string,
    private readonly logger: Logger,
  ) {
    // Commands fail fast rather than queue: a watermark that cannot be published now is stale anyway.
    const onError = warnOnConnectionError(logger);
    this.commands = createRedisClient(config, { role: 'commands', lazyConnect: true, onError });
    this.subscriber = createRedisClient(config, { role: 'subscriber', lazyConnect: true, onError });
  }

  async connect(): Promise<void> {
    await Promise.all([this.commands.connect(), this.subscriber.connect()]);
  }

  async publishWatermark(partition: number, offset: number): Promise<void> {
    await this.commands.eval(
      RAISE_WATERMARK_SCRIPT,
      2,
      watermarkKey(this.topic, partition),
      watermarkChannel(this.topic),
      String(offset),
      encodeWatermarkRaise({ partition, offset }),
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

  /** Writes `snapshot()` as this processor's member status every interval, once started. */
  statusPublisher(snapshot: () => MemberStatus | Promise<MemberStatus>): MemberStatusPublisher {
    return new MemberStatusPublisher(this.commands, this.topic, snapshot, this.logger);
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
