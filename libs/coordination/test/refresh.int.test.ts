import { randomBytes } from 'node:crypto';
import { createLogger } from '@granary/observability';
import { infra } from '@granary/testing/infra';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ProcessorRedis,
  REFRESH_CHANNEL,
  RedisRefresher,
  type RefreshRequest,
  coordinationErrors,
  parseRefreshRequest,
} from '../index.ts';

/** The API's side of ADR 0011 against a real Redis, with the processor's own publisher opposite. */

const topic = `granary.test.refresh.${randomBytes(4).toString('hex')}`;
const logger = createLogger('refresh-int', 'silent');
let processorSide: ProcessorRedis;
let listener: Redis;
const requests: RefreshRequest[] = [];
let refresher: RedisRefresher | undefined;

beforeAll(async () => {
  processorSide = new ProcessorRedis({ url: infra().redisUrl }, topic, logger);
  await processorSide.connect();
  listener = new Redis(infra().redisUrl);
  listener.on('message', (_channel: string, message: string) => {
    const request = parseRefreshRequest(message);
    if (request?.topic === topic) requests.push(request);
  });
  await listener.subscribe(REFRESH_CHANNEL);
});
afterEach(async () => {
  await refresher?.close();
  refresher = undefined;
});
afterAll(async () => {
  await processorSide.close();
  await listener.quit();
});

async function connectedRefresher(endOffsets: Record<number, number>, timeoutMs = 10_000) {
  refresher = new RedisRefresher({
    redis: { url: infra().redisUrl },
    topic,
    endOffset: async (partition) => endOffsets[partition] ?? 0,
    timeoutMs,
    logger,
  });
  await refresher.ready();
  return refresher;
}

describe('RedisRefresher', () => {
  it("asks for a checkpoint up to the partition's end offset and returns once the watermark reaches it", async () => {
    const refreshing = await connectedRefresher({ 3: 120 });
    let returned = false;
    const done = refreshing.refresh(3).then(() => {
      returned = true;
    });
    await expect.poll(() => requests.some((r) => r.partition === 3)).toBe(true);
    expect(requests.find((r) => r.partition === 3)).toEqual({ topic, partition: 3, offset: 120 });
    await processorSide.publishWatermark(3, 119);
    expect(await refreshing.watermark(3)).toBe(119);
    expect(returned).toBe(false);
    await processorSide.publishWatermark(3, 120);
    await done;
    expect(returned).toBe(true);
  });

  it('returns at once, asking nothing, when the watermark already covers the end offset', async () => {
    await processorSide.publishWatermark(4, 50);
    const refreshing = await connectedRefresher({ 4: 50 });
    await refreshing.refresh(4);
    expect(requests.some((r) => r.partition === 4)).toBe(false);
  });

  it('answers COORDINATION_REFRESH_TIMEOUT (503) when no owner checkpoints in time', async () => {
    const refreshing = await connectedRefresher({ 5: 10 }, 200);
    const failure = await refreshing.refresh(5).catch((err: unknown) => err);
    expect(coordinationErrors.is(failure, 'COORDINATION_REFRESH_TIMEOUT')).toBe(true);
    expect((failure as { status: number }).status).toBe(503);
  });

  it('answers COORDINATION_UNAVAILABLE (503) while Redis cannot be reached', async () => {
    refresher = new RedisRefresher({
      redis: { url: 'redis://127.0.0.1:1' },
      topic,
      endOffset: async () => 10,
      timeoutMs: 10_000,
      logger,
    });
    const failure = await refresher.refresh(7).catch((err: unknown) => err);
    expect(coordinationErrors.is(failure, 'COORDINATION_UNAVAILABLE')).toBe(true);
    expect((failure as { status: number }).status).toBe(503);
  });

  it('does not wait for a partition nothing was ever produced to', async () => {
    const refreshing = await connectedRefresher({}, 200);
    await refreshing.refresh(6);
    expect(requests.some((r) => r.partition === 6)).toBe(false);
  });
});
