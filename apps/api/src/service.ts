import { createIndex } from '@granary/index';
import { type Logger, createRegistry, startAdminServer } from '@granary/observability';
import { buildApi, indexPort } from '@granary/rest';
import type { ApiConfig } from './config.ts';

export interface RunningApi {
  /** Where the REST API listens, e.g. `http://127.0.0.1:8041`. */
  readonly url: string;
  readonly adminUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts the query service: index (migrated and seeded as configured), the REST API, and the admin
 * server. Stopping closes them in reverse order.
 */
export async function startApi(config: ApiConfig, logger: Logger): Promise<RunningApi> {
  const index = createIndex({
    databaseUrl: config.database.url,
    maxConnections: config.index.maxConnections,
    logger,
  });
  try {
    if (config.index.migrate) await index.migrate();
    await index.seed(config.index.seed);
    const app = await buildApi({ index: indexPort(index), logger }, config.api);
    const url = await app.listen({ host: config.api.host, port: config.api.port });
    const admin = await startAdminServer({
      ...config.admin,
      registry: createRegistry('api'),
      logger,
      ready: async () => {
        await index.archivePolicies.list();
        return true;
      },
    });
    logger.info({ url, admin: admin.url }, 'query service listening');
    return {
      url,
      adminUrl: admin.url,
      stop: async () => {
        await admin.close();
        await app.close();
        await index.close();
      },
    };
  } catch (err) {
    await index.close();
    throw err;
  }
}
