import { loadConfig } from '@granary/config';
import { createLogger } from '@granary/observability';
import { IngestConfigSchema } from './src/config.ts';
import { startIngest } from './src/service.ts';

const logger = createLogger('ingest');
try {
  const config = loadConfig(IngestConfigSchema);
  logger.level = config.log.level;
  const ingest = await startIngest(config, logger);
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    await ingest.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  // A consumer that crashed leaves its batch uncommitted; exit so the supervisor restarts it.
  ingest.done.catch(() => process.exit(1));
} catch (err) {
  logger.fatal({ err }, 'ingest failed to start');
  process.exit(1);
}
