/** Public surface of @granary/app-poller: the wiring, for tests and for running in-process. */
export { PollerConfigSchema, PollerSection } from './src/config.ts';
export type { PollerConfig } from './src/config.ts';
export { ResourceOwnership, joinCoordination } from './src/coordination.ts';
export type { Coordination } from './src/coordination.ts';
export { SamplePublisher, createSampleProducer, toUnsignedSample } from './src/publisher.ts';
export type { SamplePublisherOptions } from './src/publisher.ts';
export { startPoller } from './src/service.ts';
export type { Poller } from './src/service.ts';
