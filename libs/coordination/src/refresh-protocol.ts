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

/** A raise of one partition's watermark, as published on the topic's watermark channel. */
export interface WatermarkRaise {
  readonly partition: number;
  readonly offset: number;
}

export function encodeWatermarkRaise({ partition, offset }: WatermarkRaise): string {
  return `${partition}:${offset}`;
}

/** The raise a watermark message carries, or undefined when it is not one. */
export function parseWatermarkRaise(message: string): WatermarkRaise | undefined {
  const match = /^(\d+):(\d+)$/.exec(message);
  if (!match) return undefined;
  const partition = Number(match[1]);
  const offset = Number(match[2]);
  return isOffset(partition) && isOffset(offset) ? { partition, offset } : undefined;
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
  if (typeof topic !== 'string' || !isOffset(partition)) return undefined;
  const offsetNumber = offset === undefined ? undefined : Number(offset);
  if (offsetNumber !== undefined && !isOffset(offsetNumber)) return undefined;
  return { topic, partition, offset: offsetNumber };
}

function isOffset(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * Raise-only, so a late publication from a fenced processor never moves a watermark back.
 * KEYS: watermark key, watermark channel; ARGV: offset, the encoded raise.
 */
export const RAISE_WATERMARK_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('PUBLISH', KEYS[2], ARGV[2])
  return 1
end
return 0`;
