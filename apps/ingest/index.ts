/** Public surface of @granary/app-ingest: the notification agent and Gnocchi publisher on Kafka. */
export { IngestConfigSchema, IngestSection } from './src/config.ts';
export type { IngestConfig } from './src/config.ts';
export { ingestErrors } from './src/errors.ts';
export type { IngestErrorCode } from './src/errors.ts';
export { Ingestor } from './src/ingestor.ts';
export type { IngestorOptions } from './src/ingestor.ts';
export { createIngestMetrics } from './src/metrics.ts';
export type { IngestMetrics } from './src/metrics.ts';
export { DEFAULT_METERS_FILE, DEFAULT_RESOURCES_DEFINITION_FILE, startIngest } from './src/service.ts';
export type { RunningIngest } from './src/service.ts';
