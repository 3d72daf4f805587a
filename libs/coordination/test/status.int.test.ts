import { randomBytes } from 'node:crypto';
import { createLogger } from '@granary/observability';
import { infra } from '@granary/testing/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type MemberStatus,
  MemberStatusPublisher,
  STATUS_TTL_SECONDS,
  createRedisClient,
  memberStatusKey,
  readMemberStatuses,
  writeMemberStatus,
} from '../index.ts';

const topic = `test.status.${randomBytes(4).toString('hex')}`;
const redis = createRedisClient(
  { url: infra().redisUrl },
  { role: 'commands', lazyConnect: true, onError: () => {} },
);

beforeAll(() => redis.connect());
const status = (service: MemberStatus['service'], member: string, count: number): MemberStatus => ({
  service,
  member,
  at: Date.now(),
  deadLetters: [{ code: 'SCHEMA_CORRUPT_RECORD', count }],
  droppedTooOld: 0,
  rebuilds: [],
});

afterAll(async () => {
  const keys = await redis.keys(`granary:status:${topic}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('member statuses in a real Redis', () => {
  it('are read back per measures topic, expiring after three intervals', async () => {
    await writeMemberStatus(redis, topic, status('processor', 'p 2', 1));
    await writeMemberStatus(redis, `${topic}.other`, status('processor', 'elsewhere', 5));
    await writeMemberStatus(redis, topic, status('ingest', 'i 1', 2));
    await redis.set(memberStatusKey(topic, 'processor', 'garbled'), '{"v":1}');
    const read = await readMemberStatuses(redis, topic);
    expect(read.map((s) => [s.service, s.member, s.deadLetters[0]?.count])).toEqual([
      ['ingest', 'i 1', 2],
      ['processor', 'p 2', 1],
    ]);
    const ttl = await redis.ttl(memberStatusKey(topic, 'ingest', 'i 1'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(STATUS_TTL_SECONDS);
    await redis.del(memberStatusKey(`${topic}.other`, 'processor', 'elsewhere'));
  });

  it('are rewritten by the publisher with what its snapshot says now, and removed when it stops', async () => {
    let count = 1;
    const publisher = new MemberStatusPublisher(
      redis,
      topic,
      () => status('processor', 'live', count),
      createLogger('status-int', 'silent'),
      50,
    );
    publisher.start();
    count = 7;
    await expect
      .poll(
        async () => (await readMemberStatuses(redis, topic)).find((s) => s.member === 'live')?.deadLetters,
      )
      .toEqual([{ code: 'SCHEMA_CORRUPT_RECORD', count: 7 }]);
    await publisher.stop();
    expect((await readMemberStatuses(redis, topic)).map((s) => s.member)).not.toContain('live');
  });
});
