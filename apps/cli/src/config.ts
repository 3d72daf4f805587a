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
/**
 * Where `granary resources` and `granary measures` find the REST API, and as whom they call it
 * (basic auth, or a Keystone token when `token` is set). The defaults are `make run`'s.
 */
const ApiClientSection = Type.Object(
  {
    url: Type.String({ default: 'http://127.0.0.1:8041' }),
    user: Type.String({ default: 'admin' }),
    password: Type.String({ default: 'granary' }),
    token: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false, default: {} },
);

export const CliConfigSchema = Type.Object(
  {
    /** Not `api`: that is the API app's own section, which the CLI may find in a shared file. */
    apiClient: ApiClientSection,
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
