import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import { PollerConfigSchema } from './src/config.ts';
import { startPoller } from './src/service.ts';

const logger = createLogger('poller');
try {
  const config = loadConfig(PollerConfigSchema);
  logger.level = config.log.level;
  const poller = await startPoller(config, logger);
  process.on('SIGHUP', () => void poller.reload());
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    try {
      await poller.stop();
      process.exit(0);
    } catch (err) {
      logger.fatal({ err }, 'poller failed to stop cleanly');
      process.exit(1);
    }
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (err) {
  logger.fatal({ err }, 'poller failed to start');
  process.exit(1);
}
