export { configErrors, loadConfig } from './src/load.ts';
export type { LoadOptions } from './src/load.ts';
export {
  AdminSection,
  DatabaseSection,
  KafkaSection,
  LogSection,
  RedisSection,
  SchemaRegistrySection,
  StorageSection,
} from './src/sections.ts';
export type {
  AdminConfig,
  DatabaseConfig,
  KafkaConfig,
  LogConfig,
  RedisConfig,
  SchemaRegistryConfig,
  StorageConfig,
} from './src/sections.ts';
