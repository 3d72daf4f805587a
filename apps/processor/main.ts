import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import { ProcessorConfigSchema } from './src/config.ts';
import { type RunningProcessor, startProcessor } from './src/service.ts';

const logger = createLogger('processor');
// Installed before start-up, so a SIGTERM that arrives while starting still ends in a clean stop.
let starting: Promise<RunningProcessor | undefined> = Promise.resolve(undefined);
const stop = async (signal: string) => {
  logger.info({ signal }, 'stopping: checkpointing every partition, leaving the group');
  await (await starting)?.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop('SIGINT'));
process.once('SIGTERM', () => void stop('SIGTERM'));
try {
  const config = loadConfig(ProcessorConfigSchema);
  logger.level = config.log.level;
  const started = startProcessor(config, logger);
  starting = started;
  const processor = await started;
  processor.done.catch((err: unknown) => {
    logger.fatal({ err }, 'consumer stopped on an error it cannot get past');
    process.exit(1);
  });
} catch (err) {
  logger.fatal({ err }, 'processor failed to start');
  process.exit(1);
}
