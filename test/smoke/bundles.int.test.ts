import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type TestIndex, createTestIndex } from '@granary/testing/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIsolatedApp } from '../../tools/build/isolated-app.ts';
import { RUNNERS } from '../../tools/build/launch.ts';
import { infra } from '../infra/endpoints.ts';
import { PROJECT_ROOT } from '../infra/settings.ts';

// Production runs the bundles of tools/build/bundle.ts, every other test runs the sources: this
// file checks that what ships starts. Ingest reads its resource definitions beside its source at
// start-up, so its readiness also proves the bundles still find their data files (as the api's
// does for the console's, which it reads before listening).

const SERVICE_APPS = ['api', 'processor', 'ingest', 'poller'];
let bundles: string;
let index: TestIndex;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  // Inside the project: the bundles import their dependencies from its node_modules.
  mkdirSync(join(PROJECT_ROOT, '.granary'), { recursive: true });
  bundles = mkdtempSync(join(PROJECT_ROOT, '.granary', 'test-bundles-'));
  const build = spawnSync(
    process.execPath,
    ['--import', 'tsx', join('tools', 'build', 'bundle.ts'), bundles],
    {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    },
  );
  expect(build.stderr).toBe('');
  expect(build.status).toBe(0);
  index = await createTestIndex({ migrate: false });
  const endpoints = infra();
  env = {
    PATH: process.env.PATH,
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    DATABASE_URL: index.databaseUrl,
    REDIS_URL: endpoints.redisUrl,
    S3_ENDPOINT: endpoints.s3Endpoint,
    GRANARY_LOG__LEVEL: 'warn',
  };
});

afterAll(async () => {
  await index?.drop();
  if (bundles) rmSync(bundles, { recursive: true, force: true });
});

describe('the production bundles', () => {
  it('are one per app', () => {
    const apps = readdirSync(join(PROJECT_ROOT, 'apps')).sort();
    expect(readdirSync(bundles).filter((file) => file.endsWith('.mjs'))).toEqual(
      apps.map((app) => `${app}.mjs`),
    );
  });

  it('migrate and seed the index with the CLI bundle', async () => {
    const upgrade = spawnSync(
      process.execPath,
      [...RUNNERS.dist('cli', bundles), 'index', 'upgrade', '--seed'],
      {
        cwd: PROJECT_ROOT,
        env,
        stdio: 'inherit',
      },
    );
    expect(upgrade.status).toBe(0);
    const policies = await index.index.archivePolicies.list();
    expect(policies.map((policy) => policy.name)).toEqual(
      expect.arrayContaining(['bool', 'high', 'low', 'medium']),
    );
  });

  it.each(SERVICE_APPS)('start %s to /readyz, and stop it with SIGTERM', async (app) => {
    const running = await startIsolatedApp(app, {
      cwd: PROJECT_ROOT,
      nodeArguments: RUNNERS.dist(app, bundles),
      scope: `test.bundles.${randomUUID().slice(0, 8)}`,
      env,
    });
    try {
      await running.waitUntilReady(60_000);
    } finally {
      expect(await running.stop()).toBe(0);
    }
  });
});
