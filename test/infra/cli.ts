import { infraDown, infraUp } from './infra.ts';
import { loadInfraSettings } from './settings.ts';

const USAGE = `usage: npm run infra -- <up|down|status>

  up      find or start Kafka, the Schema Registry, PostgreSQL, Redis and S3Proxy; write
          .granary/infra.env (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL, REDIS_URL, S3_ENDPOINT)
  down    stop what 'up' started from this checkout (services given by environment are left alone),
          and a MinIO that tests started on demand and left running
  status  print the endpoints and whether each answers`;

async function main(command: string | undefined): Promise<number> {
  const settings = loadInfraSettings();
  const report = (line: string) => console.log(line);
  switch (command) {
    case 'up': {
      // Long-lived local processes: containers would die with this command (Ryuk), so not here.
      const state = await infraUp(settings, { allowContainers: false, report });
      console.log(`endpoints written to ${settings.infra.stateDir}/infra.env`);
      for (const [key, origin] of Object.entries(state.origins)) console.log(`  ${key}: ${origin}`);
      return 0;
    }
    case 'down':
      await infraDown(settings, { report });
      return 0;
    case 'status': {
      const { kafkaService } = await import('./services/kafka.ts');
      const { registryService } = await import('./services/registry.ts');
      const { postgresService } = await import('./services/postgres.ts');
      const { redisService } = await import('./services/redis.ts');
      const { s3proxyService } = await import('./services/s3proxy.ts');
      const { minioService } = await import('./services/minio.ts');
      let allUp = true;
      for (const service of [kafkaService, registryService, postgresService, redisService, s3proxyService]) {
        const up = await service.answers().catch(() => false);
        allUp &&= up;
        console.log(`${service.name.padEnd(9)} ${up ? 'up  ' : 'down'} ${service.endpoint}`);
      }
      // Started by the tests that need it, so its absence is no failure.
      const minioUp = await minioService.answers().catch(() => false);
      console.log(`${'minio'.padEnd(9)} ${minioUp ? 'up  ' : 'down'} ${minioService.endpoint} (on demand)`);
      return allUp ? 0 : 1;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`infra: ${(err as Error).message}`);
    process.exit(1);
  },
);
