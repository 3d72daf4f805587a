import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import { ApiConfigSchema } from './src/config.ts';
import { startApi } from './src/service.ts';

const logger = createLogger('api');
try {
  const config = loadConfig(ApiConfigSchema);
  logger.level = config.log.level;
  const api = await startApi(config, logger);
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    await api.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (err) {
  logger.fatal({ err }, 'query service failed to start');
  process.exit(1);
}
