import { loadConfig } from '@granary/config';
import { runService } from '@granary/observability';
import { ApiConfigSchema } from './src/config.ts';
import { startApi } from './src/service.ts';

await runService({
  component: 'api',
  loadConfig: () => loadConfig(ApiConfigSchema),
  start: startApi,
});
