import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `make fuzz`: its own config so that `make test-integration` does not run it a second time; the
// same global setup finds or starts the local infrastructure.
export default defineConfig({
  test: {
    name: 'fuzz',
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['tools/fuzz/*.fuzz.test.ts'],
    globalSetup: ['test/infra/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
