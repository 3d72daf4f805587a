/**
 * Public surface of @granary/coordination: the protocols processors, the query service and the CLI
 * speak over Redis (refresh and watermarks, metric rebuilds), both sides of each, and the one
 * Redis client factory.
 */
export { coordinationErrors } from './src/errors.ts';
export type { CoordinationErrorCode } from './src/errors.ts';
export { createRedisClient, warnOnConnectionError } from './src/redis-client.ts';
export type { RedisClientConfig, RedisClientOptions, RedisRole } from './src/redis-client.ts';
export {
  RAISE_WATERMARK_SCRIPT,
  REFRESH_CHANNEL,
  encodeRefreshRequest,
  encodeWatermarkRaise,
  parseRefreshRequest,
  parseWatermarkRaise,
  watermarkChannel,
  watermarkKey,
} from './src/refresh-protocol.ts';
export type { RefreshRequest, WatermarkRaise } from './src/refresh-protocol.ts';
export {
  REBUILD_CHANNEL,
  REBUILD_STATUS_CHANNEL,
  REBUILD_STATUS_TTL_SECONDS,
  encodeRebuildRequest,
  encodeRebuildStatus,
  parseRebuildRequest,
  parseRebuildStatus,
  rebuildStatusKey,
} from './src/rebuild-protocol.ts';
export type { RebuildRequest, RebuildState, RebuildStatus } from './src/rebuild-protocol.ts';
export { ProcessorRedis } from './src/processor-side.ts';
export { RedisRefresher } from './src/refresher.ts';
export type { RedisRefresherOptions } from './src/refresher.ts';
export {
  REPUBLISH_UNTIL_ACCEPTED_MS,
  REPUBLISH_WHILE_RUNNING_MS,
  awaitRebuild,
} from './src/await-rebuild.ts';
export type { RebuildTimings } from './src/await-rebuild.ts';
export {
  MemberStatusPublisher,
  STATUS_FORMAT_VERSION,
  STATUS_INTERVAL_MS,
  STATUS_TTL_SECONDS,
  codeCounts,
  encodeMemberStatus,
  memberStatusKey,
  newMemberName,
  parseMemberStatus,
  readMemberStatuses,
  writeMemberStatus,
} from './src/status-protocol.ts';
export type { CodeCount, MemberStatus, RebuildInProgress, StatusService } from './src/status-protocol.ts';
export { RebuildDesk } from './src/rebuild-desk.ts';
export type { RebuildOwner } from './src/rebuild-desk.ts';
export { RedisRebuildLink } from './src/rebuild-link.ts';
export type { RebuildLink, StatusListener } from './src/rebuild-link.ts';
