import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptInstall, commandExists, run, startDetached, stopProcess, waitUntil } from './process.ts';
import { s3proxyJar, s3proxyProperties } from './services/s3proxy.ts';
import { loadInfraSettings } from './settings.ts';

/** The host name S3Proxy reads virtual-hosted bucket names under (`<bucket>.localhost`). */
export const VIRTUAL_HOST = 'localhost';

export interface TlsS3Proxy {
  /** Plain http, virtual-hosted or path-style. */
  readonly httpEndpoint: string;
  /** https with a certificate for `localhost` and 127.0.0.1 issued by `caFile`. */
  readonly httpsEndpoint: string;
  /** PEM of the private CA that issued the server's certificate. */
  readonly caFile: string;
  /** PEM of another CA, which did not. */
  readonly wrongCaFile: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** A private CA and a server certificate it issued, in the PKCS12 keystore S3Proxy (Jetty) reads. */
function makeCertificates(dir: string, keystorePassword: string) {
  if (!commandExists('openssl')) aptInstall(['openssl']);
  const file = (name: string) => join(dir, name);
  const makeCa = (name: string) =>
    run('openssl', [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2'],
      ...['-keyout', file(`${name}.key`), '-out', file(`${name}.pem`), '-subj', `/CN=granary test ${name}`],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'],
    ]);
  makeCa('ca');
  makeCa('wrong-ca');
  run('openssl', [
    ...['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost'],
    ...['-keyout', file('server.key'), '-out', file('server.csr')],
  ]);
  writeFileSync(file('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run('openssl', [
    ...['x509', '-req', '-days', '2', '-in', file('server.csr'), '-extfile', file('server.ext')],
    ...['-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem')],
  ]);
  run('openssl', [
    ...['pkcs12', '-export', '-name', 's3proxy', '-passout', `pass:${keystorePassword}`],
    ...['-in', file('server.pem'), '-inkey', file('server.key'), '-certfile', file('ca.pem')],
    ...['-out', file('server.p12')],
  ]);
  return { caFile: file('ca.pem'), wrongCaFile: file('wrong-ca.pem'), keystore: file('server.p12') };
}

/**
 * A second S3Proxy 3.0.0, of this test's own (the shared one stays plain http, path-style): an http
 * and an https endpoint, `s3proxy.virtual-host=localhost`, signatures checked as on the shared one.
 * Its state, certificates and log live in a temporary folder removed by `stop`.
 */
export async function startTlsS3Proxy(): Promise<TlsS3Proxy> {
  const jar = s3proxyJar(loadInfraSettings().infra.stateDir);
  const home = mkdtempSync(join(tmpdir(), 'granary-tls-s3proxy-'));
  const keystorePassword = 'granary-test';
  const { caFile, wrongCaFile, keystore } = makeCertificates(home, keystorePassword);
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const basedir = join(home, 'blobs');
  mkdirSync(basedir);
  const properties = join(home, 's3proxy.conf');
  writeFileSync(
    properties,
    s3proxyProperties({
      's3proxy.endpoint': `http://127.0.0.1:${httpPort}`,
      's3proxy.secure-endpoint': `https://127.0.0.1:${httpsPort}`,
      's3proxy.keystore-path': keystore,
      's3proxy.keystore-password': keystorePassword,
      's3proxy.virtual-host': VIRTUAL_HOST,
      'jclouds.filesystem.basedir': basedir,
    }),
  );
  const pid = startDetached('s3proxy', 'java', ['-Xmx256m', '-jar', jar, '--properties', properties], {
    stateDir: home,
  });
  const stop = async () => {
    await stopProcess(pid);
    rmSync(home, { recursive: true, force: true });
  };
  const httpEndpoint = `http://${VIRTUAL_HOST}:${httpPort}`;
  try {
    // An anonymous ListBuckets is refused with a well-formed S3 error document.
    await waitUntil(
      'TLS S3Proxy',
      async () =>
        (await fetch(httpEndpoint, { signal: AbortSignal.timeout(2000) })).status === 403 &&
        (await accepts(httpsPort)),
      { timeoutMs: 120_000, pid, logFile: join(home, 'logs', 's3proxy.log') },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { httpEndpoint, httpsEndpoint: `https://${VIRTUAL_HOST}:${httpsPort}`, caFile, wrongCaFile, stop };
}
