import { randomBytes } from 'node:crypto';
import { infra } from '@granary/testing/infra';
import { TcpProxy } from '@granary/testing/tcp-proxy';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisClient } from '../index.ts';

/** The factory's two roles against a real Redis that a relay takes away and gives back. */

const opened: Redis[] = [];
const proxies: TcpProxy[] = [];
afterEach(async () => {
  for (const client of opened.splice(0)) client.disconnect();
  for (const proxy of proxies.splice(0)) await proxy.cut();
});

async function relayToRedis(): Promise<TcpProxy> {
  const { hostname, port } = new URL(infra().redisUrl);
  const proxy = await TcpProxy.reserve({ host: hostname, port: Number(port) });
  proxies.push(proxy);
  return proxy;
}

function client(url: string, role: 'commands' | 'subscriber', errors: Error[] = []): Redis {
  const redis = createRedisClient({ url }, { role, lazyConnect: false, onError: (e) => errors.push(e) });
  opened.push(redis);
  return redis;
}

describe('createRedisClient', () => {
  it('commands fail at once while Redis is away, and work once it is back', async () => {
    const proxy = await relayToRedis();
    const errors: Error[] = [];
    const commands = client(`redis://127.0.0.1:${proxy.port}`, 'commands', errors);
    const started = Date.now();
    await expect(commands.get('granary:test:absent')).rejects.toThrow(/enableOfflineQueue/);
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect.poll(() => errors.length).toBeGreaterThan(0);

    await proxy.restore();
    await expect.poll(() => commands.status, { timeout: 10_000 }).toBe('ready');
    expect(await commands.get('granary:test:absent')).toBeNull();
  });

  it('a subscription made while Redis is away takes effect when it comes, and survives losing it', async () => {
    const proxy = await relayToRedis();
    const channel = `granary:test:${randomBytes(4).toString('hex')}`;
    const subscriber = client(`redis://127.0.0.1:${proxy.port}`, 'subscriber');
    const heard: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => heard.push(message));
    const subscribed = subscriber.subscribe(channel);

    const publisher = new Redis(infra().redisUrl);
    try {
      await proxy.restore();
      await subscribed;
      await publisher.publish(channel, 'first');
      await expect.poll(() => heard, { timeout: 10_000 }).toEqual(['first']);

      await proxy.cut();
      await proxy.restore();
      // Published until heard: the re-sent SUBSCRIBE lands some time after the reconnection.
      await expect
        .poll(
          async () => {
            await publisher.publish(channel, 'after');
            return heard.includes('after');
          },
          { timeout: 10_000, interval: 200 },
        )
        .toBe(true);
    } finally {
      publisher.disconnect();
    }
  });
});
