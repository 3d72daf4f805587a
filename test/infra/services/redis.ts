import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  aptInstall,
  commandExists,
  forgetPid,
  recordedPid,
  startDetached,
  stopProcess,
  waitUntil,
} from '../process.ts';
import { PORTS } from '../settings.ts';
import type { LocalService } from './service.ts';

const ENDPOINT = `redis://127.0.0.1:${PORTS.redis}`;

/** Redis 7 from Debian's packages; no persistence, since Granary keeps nothing there it can't lose. */
export const redisService: LocalService = {
  name: 'redis',
  endpoint: ENDPOINT,

  async answers() {
    const client = new Redis(ENDPOINT, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } finally {
      client.disconnect();
    }
  },

  async start(stateDir) {
    if (!commandExists('redis-server')) aptInstall(['redis-server']);
    const home = join(stateDir, 'data', 'redis');
    mkdirSync(home, { recursive: true });
    const pid = startDetached(
      'redis',
      'redis-server',
      [
        '--port',
        String(PORTS.redis),
        '--bind',
        '127.0.0.1',
        '--dir',
        home,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stateDir },
    );
    await waitUntil('Redis', () => this.answers(), {
      timeoutMs: 30_000,
      pid,
      logFile: join(stateDir, 'logs', 'redis.log'),
    });
  },

  async stop(stateDir) {
    const pid = recordedPid(stateDir, 'redis');
    if (pid !== undefined) await stopProcess(pid);
    forgetPid(stateDir, 'redis');
  },
};
