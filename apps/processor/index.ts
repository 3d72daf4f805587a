/** Public surface of @granary/app-processor; see package.json for what this app owns. */
export { ProcessorConfigSchema, ProcessorSection } from './src/config.ts';
export type { ProcessorConfig } from './src/config.ts';
export { startProcessor } from './src/service.ts';
export type { RunningProcessor } from './src/service.ts';
