import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  aptInstall,
  commandExists,
  forgetPid,
  recordedPid,
  run,
  startDetached,
  stateFolders,
  stopProcess,
  waitUntil,
  withStateLock,
} from '../process.ts';
import { PORTS, loadInfraSettings } from '../settings.ts';
import type { LocalService } from './service.ts';

/**
 * The MinIO server module at its last commit (the repository stopped taking changes in February
 * 2026). The module proxy serves MinIO's `RELEASE.*` tags under no version it will name, so the
 * pseudo-version of the head is what `go install` can be pinned to.
 */
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';
const ENDPOINT = `http://127.0.0.1:${PORTS.minio}`;

/** MinIO wants a root password of 8 characters or more, so not S3Proxy's `granary`. */
export const MINIO_CREDENTIALS = { accessKeyId: 'granary', secretAccessKey: 'granary-minio' } as const;

type Report = (line: string) => void;

/** MinIO's go.mod asks for Go 1.24; this release is fetched when the machine has no such Go. */
const GO_TOOLCHAIN = 'go1.24.13';
const GO_ARCH: Partial<Record<NodeJS.Architecture, string>> = { x64: 'amd64', arm64: 'arm64' };

function goIsRecentEnough(go: string): boolean {
  const version = /^go(\d+)\.(\d+)/.exec(run(go, ['env', 'GOVERSION']).trim());
  return version !== null && (Number(version[1]) > 1 || Number(version[2]) >= 24);
}

/**
 * A Go of 1.24 or newer: the machine's own, else Go's release as the module proxy serves it
 * (`golang.org/toolchain`, the module `GOTOOLCHAIN` switching uses), unpacked once into the cache.
 * Debian bookworm's golang-go is 1.19, too old for both MinIO and toolchain switching.
 */
async function goCommand(home: string, report: Report): Promise<string> {
  // /usr/local/go is where the Go tarball installs itself when PATH has not been told.
  const installed = ['go', '/usr/local/go/bin/go'].find((go) =>
    go === 'go' ? commandExists(go) : existsSync(go),
  );
  if (installed && goIsRecentEnough(installed)) return installed;
  const arch = GO_ARCH[process.arch];
  if (!arch) throw new Error(`MinIO is built from source: install Go 1.24 or newer for ${process.arch}`);
  const moduleVersion = `v0.0.1-${GO_TOOLCHAIN}.linux-${arch}`;
  const root = join(home, 'toolchain', `golang.org/toolchain@${moduleVersion}`);
  const go = join(root, 'bin', 'go');
  if (existsSync(go)) return go;
  const url = `https://proxy.golang.org/golang.org/toolchain/@v/${moduleVersion}.zip`;
  report(`minio: no Go 1.24 here; fetching ${GO_TOOLCHAIN} from ${url}`);
  const response = await fetch(url, { signal: AbortSignal.timeout(600_000) });
  if (!response.ok) throw new Error(`fetching Go ${GO_TOOLCHAIN} from ${url}: HTTP ${response.status}`);
  const archive = join(home, `${moduleVersion}.zip`);
  writeFileSync(archive, Buffer.from(await response.arrayBuffer()));
  rmSync(join(home, 'toolchain'), { recursive: true, force: true });
  // unzip keeps the executable bits the archive records; Node has no unzip of its own.
  if (!commandExists('unzip')) aptInstall(['unzip']);
  run('unzip', ['-q', archive, '-d', join(home, 'toolchain')]);
  rmSync(archive);
  return go;
}

/**
 * The MinIO binary, built once by `go install` from the Go module proxy into the state dir's
 * cache (modules, build cache and binary under `cache/minio`; 3.5 minutes, 250 CPU-seconds and
 * 2.3 GB the first time on two cores) and reused afterwards.
 */
export async function ensureMinioBinary(stateDir: string, report: Report): Promise<string> {
  const home = join(stateFolders(stateDir).cache, 'minio');
  const binary = join(home, MINIO_VERSION, 'minio');
  if (existsSync(binary)) return binary;
  mkdirSync(home, { recursive: true });
  // Test runs started together: one builds, the others wait for it (a lock of its own, since
  // starting MinIO holds the state dir's).
  return withStateLock(home, async () => {
    if (existsSync(binary)) return binary;
    report(`minio: building ${MINIO_VERSION} with go install (once; a few minutes, cached in ${home})`);
    const startedAt = Date.now();
    // A build that is interrupted must not leave something at `binary` that looks finished.
    const staging = join(home, `${MINIO_VERSION}.partial`);
    rmSync(staging, { recursive: true, force: true });
    run(await goCommand(home, report), ['install', `github.com/minio/minio@${MINIO_VERSION}`], {
      cwd: stateDir,
      env: {
        GOPATH: join(home, 'gopath'),
        GOMODCACHE: join(home, 'gopath', 'pkg', 'mod'),
        GOCACHE: join(home, 'gocache'),
        GOBIN: staging,
        // The Go chosen above builds it: no toolchain switch behind our back.
        GOTOOLCHAIN: 'local',
        GOFLAGS: '-buildvcs=false',
      },
    });
    renameSync(staging, join(home, MINIO_VERSION));
    report(`minio: built in ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
    return binary;
  });
}

/**
 * MinIO in single-drive mode over a folder of the state dir: a second real S3 server, one whose
 * conditional writes (If-Match / If-None-Match on PUT) are decided atomically, unlike S3Proxy's.
 * Not part of the always-up set: the tests that need it call `startMinio`; `make infra-down` stops
 * one that was left running.
 */
export const minioService: LocalService = {
  name: 'minio',
  endpoint: ENDPOINT,

  async answers() {
    const response = await fetch(`${ENDPOINT}/minio/health/live`, { signal: AbortSignal.timeout(2000) });
    return response.status === 200 && (response.headers.get('server') ?? '').startsWith('MinIO');
  },

  async start(stateDir) {
    const binary = await ensureMinioBinary(stateDir, (line) => console.log(`[infra] ${line}`));
    const data = join(stateDir, 'data', 'minio');
    mkdirSync(data, { recursive: true });
    const pid = startDetached(
      'minio',
      binary,
      ['server', '--quiet', '--address', `127.0.0.1:${PORTS.minio}`, data],
      {
        stateDir,
        env: {
          MINIO_ROOT_USER: MINIO_CREDENTIALS.accessKeyId,
          MINIO_ROOT_PASSWORD: MINIO_CREDENTIALS.secretAccessKey,
          // No web console (and so no second port), no update checks, no telemetry.
          MINIO_BROWSER: 'off',
          MINIO_UPDATE: 'off',
          MINIO_CALLHOME_ENABLE: 'off',
        },
      },
    );
    await waitUntil('MinIO', () => this.answers(), {
      timeoutMs: 60_000,
      pid,
      logFile: join(stateDir, 'logs', 'minio.log'),
    });
  },

  async stop(stateDir) {
    const pid = recordedPid(stateDir, 'minio');
    if (pid !== undefined) await stopProcess(pid);
    forgetPid(stateDir, 'minio');
  },
};

export interface Minio {
  /** e.g. `http://127.0.0.1:18900`, path-style, region `us-east-1`, `MINIO_CREDENTIALS`. */
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * A MinIO for the tests that need one: reused when one answers already, otherwise started (built
 * first if the global setup has not). Stopping stops only a MinIO this call started.
 */
export async function startMinio(): Promise<Minio> {
  const { stateDir } = loadInfraSettings().infra;
  const started = await withStateLock(stateDir, async () => {
    if (await minioService.answers().catch(() => false)) return false;
    await minioService.start(stateDir);
    return true;
  });
  return {
    endpoint: ENDPOINT,
    stop: started ? () => withStateLock(stateDir, () => minioService.stop(stateDir)) : async () => {},
  };
}
