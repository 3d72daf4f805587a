import { loadConfig } from '@granary/config';
import { runService } from '@granary/observability';
import { ProcessorConfigSchema } from './src/config.ts';
import { startProcessor } from './src/service.ts';

await runService({
  component: 'processor',
  loadConfig: () => loadConfig(ProcessorConfigSchema),
  start: startProcessor,
});
