import { defineConfig } from 'vitest/config';

// Two projects: `unit` is pure logic and needs nothing running; `integration` talks to real
// services, which test/infra/global-setup.ts brings up (or finds) before any file runs.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'libs/*/test/**/*.test.ts',
            'apps/*/test/**/*.test.ts',
            'test/unit/**/*.test.ts',
            'test/testing/**/*.test.ts',
          ],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['libs/*/test/**/*.int.test.ts', 'apps/*/test/**/*.int.test.ts', 'test/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['test/infra/global-setup.ts', 'test/infra/minio-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // Two cores: integration files share one broker and one database, so run them one at a time.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
