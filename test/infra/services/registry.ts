import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { forgetPid, recordedPid, run, startDetached, stopProcess, waitUntil } from '../process.ts';
import { PORTS, PROJECT_ROOT } from '../settings.ts';
import { ensureJava } from './maven.ts';
import { ensureDatabase, postgresService } from './postgres.ts';
import type { LocalService } from './service.ts';

const BASE = `http://127.0.0.1:${PORTS.registry}`;
const ENDPOINT = `${BASE}/apis/ccompat/v7`;
/** Apicurio's own tables live in their own database of the local PostgreSQL, beside Granary's. */
const DATABASE = 'apicurio';

/**
 * Apicurio Registry 3.0.9 (the newest 3.x that runs on Java 17) with its Confluent-compatible API,
 * unpacked once from Central's runnable tarball by jvm/registry/pom.xml. Its SQL storage is the local
 * PostgreSQL (the tarball ships the JDBC driver): schema ids are written into every Kafka record, so
 * a registry that forgot them on restart would leave the whole backlog undecodable (issue 15).
 */
export const registryService: LocalService = {
  name: 'registry',
  endpoint: ENDPOINT,

  async answers() {
    const response = await fetch(`${ENDPOINT}/subjects`, { signal: AbortSignal.timeout(2000) });
    return response.ok && Array.isArray(await response.json());
  },

  async start(stateDir) {
    const app = join(stateDir, 'cache', 'registry');
    const runner = join(app, 'apicurio-registry-app-3.0.9-runner.jar');
    if (!existsSync(runner)) {
      ensureJava();
      mkdirSync(app, { recursive: true });
      run('mvn', [
        '-q',
        '-B',
        '-f',
        join(PROJECT_ROOT, 'test/infra/jvm/registry/pom.xml'),
        'package',
        `-DoutputDir=${app}`,
      ]);
    }
    // Started beside PostgreSQL by infraUp: wait for it rather than fail on a refused connection.
    await waitUntil('PostgreSQL for Apicurio Registry', () => postgresService.answers().catch(() => false), {
      timeoutMs: 120_000,
    });
    const database = await ensureDatabase(DATABASE);
    const pid = startDetached(
      'registry',
      'java',
      [
        '-Xms64m',
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-Dquarkus.http.host=127.0.0.1',
        `-Dquarkus.http.port=${PORTS.registry}`,
        '-Dapicurio.storage.kind=sql',
        '-Dapicurio.storage.sql.kind=postgresql',
        `-Dapicurio.datasource.url=jdbc:postgresql://127.0.0.1:${PORTS.postgres}/${DATABASE}`,
        `-Dapicurio.datasource.username=${database.user}`,
        '-Dapicurio.datasource.password=',
        '-jar',
        runner,
      ],
      { stateDir, cwd: app },
    );
    await waitUntil('Apicurio Registry', () => this.answers(), {
      timeoutMs: 120_000,
      pid,
      logFile: join(stateDir, 'logs', 'registry.log'),
    });
  },

  async stop(stateDir) {
    const pid = recordedPid(stateDir, 'registry');
    if (pid !== undefined) await stopProcess(pid);
    forgetPid(stateDir, 'registry');
  },
};
