import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forgetPid, recordedPid, startDetached, stopProcess, waitUntil } from '../process.ts';
import { PORTS, PROJECT_ROOT } from '../settings.ts';
import { resolveMavenClasspath } from './maven.ts';
import type { LocalService } from './service.ts';

const ENDPOINT = `http://127.0.0.1:${PORTS.s3}`;

/** S3Proxy 3.0.0 with its filesystem backend (it honours If-Match / If-None-Match; 2.6.0 ignored them): a real S3 HTTP server over a local folder. */
export const s3proxyService: LocalService = {
  name: 's3proxy',
  endpoint: ENDPOINT,

  async answers() {
    // With authorization=none, an anonymous ListBuckets is a well-formed S3 XML answer.
    const response = await fetch(`${ENDPOINT}/`, { signal: AbortSignal.timeout(2000) });
    return response.ok && (await response.text()).includes('ListAllMyBucketsResult');
  },

  async start(stateDir) {
    const [jar] = resolveMavenClasspath(
      join(PROJECT_ROOT, 'test/infra/jvm/s3proxy'),
      join(stateDir, 'cache', 's3proxy', 'lib'),
    );
    if (!jar) throw new Error('S3Proxy: Maven resolved no jar');
    const home = join(stateDir, 'data', 's3proxy');
    const basedir = join(home, 'blobs');
    mkdirSync(basedir, { recursive: true });
    const properties = join(home, 's3proxy.conf');
    writeFileSync(
      properties,
      [
        's3proxy.authorization=none',
        `s3proxy.endpoint=${ENDPOINT}`,
        'jclouds.provider=filesystem',
        `jclouds.filesystem.basedir=${basedir}`,
        '',
      ].join('\n'),
    );
    const pid = startDetached('s3proxy', 'java', ['-Xmx256m', '-jar', jar, '--properties', properties], {
      stateDir,
    });
    await waitUntil('S3Proxy', () => this.answers(), {
      timeoutMs: 60_000,
      pid,
      logFile: join(stateDir, 'logs', 's3proxy.log'),
    });
  },

  async stop(stateDir) {
    const pid = recordedPid(stateDir, 's3proxy');
    if (pid !== undefined) await stopProcess(pid);
    forgetPid(stateDir, 's3proxy');
  },
};
