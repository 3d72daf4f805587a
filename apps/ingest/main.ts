import { loadConfig } from '@granary/config';
import { runService } from '@granary/observability';
import { IngestConfigSchema } from './src/config.ts';
import { startIngest } from './src/service.ts';

await runService({
  component: 'ingest',
  loadConfig: () => loadConfig(IngestConfigSchema),
  start: startIngest,
});
