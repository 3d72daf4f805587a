export { startAdminServer } from './src/admin-server.ts';
export type { AdminServer, AdminServerOptions, AdminTarget, Probe } from './src/admin-server.ts';
export { createLogger } from './src/logger.ts';
export type { Logger } from './src/logger.ts';
export { Counter, Gauge, Histogram, Registry, createRegistry } from './src/metrics.ts';
export { runService } from './src/service.ts';
export type { RunningApp, ServiceConfig, ServiceDefinition, ServiceHost } from './src/service.ts';
