import {
  DatabaseSection,
  KafkaSection,
  LogSection,
  RedisSection,
  SchemaRegistrySection,
  StorageSection,
} from '@granary/config';
import { TopicsSection } from '@granary/kafka';
import { type Static, Type } from '@sinclair/typebox';

/**
 * The sections the CLI uses. Unknown top-level sections are allowed on purpose: an operator runs
 * the CLI beside an app (same pod, same GRANARY_CONFIG), and that app's own sections (`processor`,
 * `admin`, …) are none of the CLI's business. The sections it does use are validated strictly.
 */
export const CliConfigSchema = Type.Object(
  {
    topics: TopicsSection,
    kafka: KafkaSection,
    schemaRegistry: SchemaRegistrySection,
    database: DatabaseSection,
    redis: RedisSection,
    storage: StorageSection,
    /** Warnings only by default: at a terminal, info lines from the libraries are noise. */
    log: Type.Composite([LogSection], { additionalProperties: false, default: { level: 'warn' } }),
  },
  { additionalProperties: true },
);

export type CliConfig = Static<typeof CliConfigSchema>;
