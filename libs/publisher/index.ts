/** Public surface of @granary/publisher: Ceilometer's Gnocchi publisher over Granary's index and Kafka. */
export {
  admitMeterDict,
  admitSample,
  decodeOsloNotification,
} from './src/admission.ts';
export { compileAttributePath } from './src/attribute-path.ts';
export type { AttributePath } from './src/attribute-path.ts';
export { ensureCeilometerSetup } from './src/bootstrap.ts';
export type { BootstrapReport } from './src/bootstrap.ts';
export { RedisCache } from './src/cache.ts';
export type { SharedCache } from './src/cache.ts';
export {
  CEILOMETER_DEFAULT_ARCHIVE_POLICY,
  MeterMapper,
  parseResourceDefinitions,
} from './src/definitions.ts';
export type { MappedSample, ResourceDefinition, ResourceDefinitions } from './src/definitions.ts';
export { publisherErrors } from './src/errors.ts';
export type { PublisherErrorCode } from './src/errors.ts';
export { GnocchiPublisher } from './src/gnocchi-publisher.ts';
export type { PublishItem, PublishResult } from './src/gnocchi-publisher.ts';
export { MetricResolver } from './src/resolver.ts';
export type { LookupOutcome, ResolvedResource, ResolverOptions, ResourceRequest } from './src/resolver.ts';
export { CEILOMETER_RESOURCE_TYPES } from './src/resource-types.ts';
export type { AttributeSchema } from './src/resource-types.ts';
