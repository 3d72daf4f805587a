/** Public surface of @granary/index: Gnocchi's indexer (policies, rules, resource types, resources, metrics) on PostgreSQL. */
export { createIndex } from './src/create-index.ts';
export type { Index, IndexLogger, IndexOptions } from './src/create-index.ts';
export { indexError } from './src/errors.ts';
export type { IndexError, IndexErrorCode, StructuredDescription } from './src/errors.ts';
export {
  DEFAULT_AGGREGATION_METHODS,
  GNOCCHI_DEFAULT_ARCHIVE_POLICIES,
  GNOCCHI_DEFAULT_ARCHIVE_POLICY_RULE,
  validateArchivePolicy,
} from './src/archive-policy-definition.ts';
export type {
  ArchivePolicy,
  ArchivePolicyInput,
  ArchivePolicyItem,
  ArchivePolicyItemInput,
} from './src/archive-policy-definition.ts';
export type { ArchivePolicyRule } from './src/archive-policies.ts';
export { GENERIC_TYPE } from './src/resource-types.ts';
export type {
  AttributeDefinition,
  AttributeType,
  AttributeValue,
  ResourceType,
  ResourceTypePatchOperation,
} from './src/resource-types.ts';
export type {
  MetricSpec,
  Resource,
  ResourceCreate,
  ResourceSearch,
  ResourceUpdate,
} from './src/resources.ts';
export type { Metric, MetricCreate, MetricListFilter, MetricStatus } from './src/metrics.ts';
export type { PageRequest } from './src/pagination.ts';
export { fnmatch } from './src/fnmatch.ts';
export { FILTER_LIMITS, parseResourceFilter } from './src/filter/parse.ts';
export type { ComparisonOperator, FilterScalar, ResourceFilter } from './src/filter/parse.ts';
export { parseTimestamp, parseTimespanSeconds } from './src/time.ts';
export type { EpochMicros, TimestampInput } from './src/time.ts';
export { parseUuid, resourceUuid, uuid5 } from './src/uuid.ts';
export { LATEST_SCHEMA_VERSION } from './src/migrations.ts';
export type { SeedMode } from './src/seed.ts';
