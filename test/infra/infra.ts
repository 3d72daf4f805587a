import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerRuntimeAnswers, startContainers } from './containers.ts';
import type { InfraEndpoints } from './endpoints.ts';
import { stateFolders, withStateLock } from './process.ts';
import { kafkaService } from './services/kafka.ts';
import { minioService } from './services/minio.ts';
import { postgresService } from './services/postgres.ts';
import { redisService } from './services/redis.ts';
import { registryService } from './services/registry.ts';
import { s3proxyService } from './services/s3proxy.ts';
import type { LocalService } from './services/service.ts';
import type { InfraSettings } from './settings.ts';

/** Each endpoint and the local service that provides it when nothing else does. */
const LOCAL: Record<keyof InfraEndpoints, LocalService> = {
  kafkaBrokers: kafkaService,
  schemaRegistryUrl: registryService,
  databaseUrl: postgresService,
  redisUrl: redisService,
  s3Endpoint: s3proxyService,
};

/** Services that tests start when they need them (never by `infraUp`), stopped by a full `infraDown`. */
const ON_DEMAND: LocalService[] = [minioService];

export type Origin = 'environment' | 'container' | 'already running' | 'started';

export interface InfraState {
  endpoints: InfraEndpoints;
  origins: Record<keyof InfraEndpoints, Origin>;
}

type Report = (line: string) => void;

/**
 * Bring every service up, in the design's order of preference: endpoints given in the environment,
 * else Testcontainers when a runtime answers (and `allowContainers`), else local processes. Then
 * write the endpoints in use to `<stateDir>/infra.env` for apps, scripts and tests.
 */
export async function infraUp(
  settings: InfraSettings,
  options: { allowContainers: boolean; report: Report },
): Promise<InfraState> {
  const { report } = options;
  const stateDir = settings.infra.stateDir;
  stateFolders(stateDir);
  const given: Partial<InfraEndpoints> = {
    kafkaBrokers: settings.kafka.brokers,
    schemaRegistryUrl: settings.schemaRegistry.url,
    databaseUrl: settings.database.url,
    redisUrl: settings.redis.url,
    s3Endpoint: settings.storage.s3.endpoint,
  };
  const endpoints: Partial<InfraEndpoints> = {};
  const origins: Partial<Record<keyof InfraEndpoints, Origin>> = {};
  const keys = Object.keys(LOCAL) as (keyof InfraEndpoints)[];
  for (const key of keys) {
    if (given[key] === undefined) continue;
    Object.assign(endpoints, { [key]: given[key] });
    origins[key] = 'environment';
  }

  let missing = keys.filter((key) => endpoints[key] === undefined);
  if (missing.length > 0 && options.allowContainers && settings.infra.containers === 'auto') {
    if (await containerRuntimeAnswers()) {
      report(`starting containers for ${missing.join(', ')}`);
      const started = await startContainers(missing);
      for (const key of missing) if (started[key] !== undefined) origins[key] = 'container';
      Object.assign(endpoints, started);
      missing = keys.filter((key) => endpoints[key] === undefined);
    }
  }

  // allSettled: a failing service must not end the run while the others are still starting.
  const results = await withStateLock(stateDir, () =>
    Promise.allSettled(
      missing.map(async (key) => {
        const service = LOCAL[key];
        const running = await service.answers().catch(() => false);
        if (!running) {
          report(`${service.name}: starting`);
          const startedAt = Date.now();
          await service.start(stateDir);
          report(
            `${service.name}: up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s at ${service.endpoint}`,
          );
        } else {
          report(`${service.name}: already up at ${service.endpoint}`);
        }
        origins[key] = running ? 'already running' : 'started';
        Object.assign(endpoints, { [key]: key === 'kafkaBrokers' ? [service.endpoint] : service.endpoint });
      }),
    ),
  );

  const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (failures.length > 0) throw new Error(failures.join('\n'));

  const state = { endpoints: endpoints as InfraEndpoints, origins: origins as InfraState['origins'] };
  writeEnvFile(stateDir, state.endpoints);
  return state;
}

/**
 * Stop the local services this checkout's state dir started (`only`: just those named; without it,
 * also any on-demand service a test left running).
 */
export async function infraDown(
  settings: InfraSettings,
  options: { report: Report; only?: (keyof InfraEndpoints)[] },
): Promise<void> {
  const keys = options.only ?? (Object.keys(LOCAL) as (keyof InfraEndpoints)[]);
  const services = [...keys.map((key) => LOCAL[key]), ...(options.only ? [] : ON_DEMAND)];
  await withStateLock(settings.infra.stateDir, () =>
    Promise.all(
      services.map(async (service) => {
        await service.stop(settings.infra.stateDir);
        options.report(`${service.name}: stopped`);
      }),
    ),
  );
}

export function envFileText(endpoints: InfraEndpoints): string {
  return [
    `KAFKA_BROKERS=${endpoints.kafkaBrokers.join(',')}`,
    `SCHEMA_REGISTRY_URL=${endpoints.schemaRegistryUrl}`,
    `DATABASE_URL=${endpoints.databaseUrl}`,
    `REDIS_URL=${endpoints.redisUrl}`,
    `S3_ENDPOINT=${endpoints.s3Endpoint}`,
    '',
  ].join('\n');
}

function writeEnvFile(stateDir: string, endpoints: InfraEndpoints): void {
  writeFileSync(join(stateDir, 'infra.env'), envFileText(endpoints));
}
