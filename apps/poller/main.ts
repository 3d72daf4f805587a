import { loadConfig } from '@granary/config';
import { runService } from '@granary/observability';
import { PollerConfigSchema } from './src/config.ts';
import { startPoller } from './src/service.ts';

await runService({
  component: 'poller',
  loadConfig: () => loadConfig(PollerConfigSchema),
  start: startPoller,
});
