import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forgetPid, recordedPid, startDetached, stopProcess, waitUntil } from '../process.ts';
import { PORTS, PROJECT_ROOT, S3_CREDENTIALS } from '../settings.ts';
import { resolveMavenClasspath } from './maven.ts';
import type { LocalService } from './service.ts';

const ENDPOINT = `http://127.0.0.1:${PORTS.s3}`;

/** The S3Proxy jar, resolved by Maven into the state dir's cache. */
export function s3proxyJar(stateDir: string): string {
  const [jar] = resolveMavenClasspath(
    join(PROJECT_ROOT, 'test/infra/jvm/s3proxy'),
    join(stateDir, 'cache', 's3proxy', 'lib'),
  );
  if (!jar) throw new Error('S3Proxy: Maven resolved no jar');
  return jar;
}

/** A properties file for S3Proxy over a folder, checking signatures with Granary's default credentials. */
export function s3proxyProperties(settings: Record<string, string>): string {
  const all = {
    's3proxy.authorization': 'aws-v2-or-v4',
    's3proxy.identity': S3_CREDENTIALS.accessKeyId,
    's3proxy.credential': S3_CREDENTIALS.secretAccessKey,
    'jclouds.provider': 'filesystem',
    ...settings,
  };
  return `${Object.entries(all)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')}\n`;
}

/**
 * S3Proxy 3.0.0 with its filesystem backend (it honours If-Match / If-None-Match; 2.6.0 ignored
 * them): a real S3 HTTP server over a local folder. It checks SigV4 signatures with the credentials
 * Granary's configuration defaults to (`granary` / `granary`), so our own request signing is
 * verified by every test that touches storage.
 */
export const s3proxyService: LocalService = {
  name: 's3proxy',
  endpoint: ENDPOINT,

  async answers() {
    // An anonymous ListBuckets is refused with a well-formed S3 error document.
    const response = await fetch(`${ENDPOINT}/`, { signal: AbortSignal.timeout(2000) });
    return response.status === 403 && (await response.text()).includes('<Code>AccessDenied</Code>');
  },

  async start(stateDir) {
    const jar = s3proxyJar(stateDir);
    const home = join(stateDir, 'data', 's3proxy');
    const basedir = join(home, 'blobs');
    mkdirSync(basedir, { recursive: true });
    const properties = join(home, 's3proxy.conf');
    writeFileSync(
      properties,
      s3proxyProperties({ 's3proxy.endpoint': ENDPOINT, 'jclouds.filesystem.basedir': basedir }),
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
