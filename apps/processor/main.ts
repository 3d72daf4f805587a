import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import { ProcessorConfigSchema } from './src/config.ts';
import { startProcessor } from './src/service.ts';

const logger = createLogger('processor');
try {
  const config = loadConfig(ProcessorConfigSchema);
  logger.level = config.log.level;
  const processor = await startProcessor(config, logger);
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping: checkpointing every partition, leaving the group');
    await processor.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  processor.done.catch((err: unknown) => {
    logger.fatal({ err }, 'consumer stopped on an error it cannot get past');
    process.exit(1);
  });
} catch (err) {
  logger.fatal({ err }, 'processor failed to start');
  process.exit(1);
}
