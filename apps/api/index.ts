/** Public surface of @granary/app-api; see package.json for what this app owns. */
export { ApiConfigSchema } from './src/config.ts';
export type { ApiConfig } from './src/config.ts';
export { startApi } from './src/service.ts';
export type { RunningApi } from './src/service.ts';
