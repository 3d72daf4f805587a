// The client's own modules, not the package index: the index also loads the AWS, Azure, GCP and
// Vault key-management SDKs of its encryption rules, half a CPU-second at every start (issue 15).
import { RestError } from '@confluentinc/schemaregistry/dist/rest-error.js';
import {
  type Client,
  Compatibility,
  SchemaRegistryClient,
} from '@confluentinc/schemaregistry/dist/schemaregistry-client.js';
import type { AvroSchema } from './avro-schema.ts';
import { type SchemaErrorCode, schemaErrors } from './errors.ts';

export type { Client as SchemaRegistryClient } from '@confluentinc/schemaregistry/dist/schemaregistry-client.js';

/**
 * A registry client for `url`: a Confluent-compatible REST endpoint (Confluent, Apicurio's
 * `/apis/ccompat/v7`), or `mock://<name>` for the in-memory client of unit tests. The client
 * caches ids and schemas itself.
 */
export function createSchemaRegistryClient(config: { url: string }): Client {
  return SchemaRegistryClient.newClient({ baseURLs: [config.url], cacheCapacity: 1000 });
}

/** TopicNameStrategy: the subject of a topic's record values. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/**
 * Register `schema` under `subject` (a no-op returning the existing id when already registered) and
 * make the subject BACKWARD compatible, so readers on this schema can read every later record and
 * the registry refuses a next version that could not read the records already written.
 */
export async function registerSchema(
  client: Client,
  subject: string,
  schema: AvroSchema<unknown>,
): Promise<number> {
  const info = { schemaType: 'AVRO', schema: JSON.stringify(schema.definition) };
  const id = await callRegistry(`register ${schema.name} under ${subject}`, () =>
    client.register(subject, info, false),
  );
  // Set after registering: a registry may refuse configuration for a subject that does not exist yet.
  const setBackward = () =>
    callRegistry(`set BACKWARD compatibility on ${subject}`, () =>
      client.updateCompatibility(subject, Compatibility.BACKWARD),
    );
  try {
    await setBackward();
  } catch (err) {
    // Apicurio answers 409 "rule already exists" when another process created the subject's rule
    // between its check and its insert (apps registering together on a fresh registry); the rule
    // exists now, so setting it again is an update.
    if (!schemaErrors.is(err, 'SCHEMA_INCOMPATIBLE')) throw err;
    await setBackward();
  }
  return id;
}

/** The id under which `schema` is registered in `subject`, without registering it. */
export async function lookUpSchemaId(
  client: Client,
  subject: string,
  schema: AvroSchema<unknown>,
): Promise<number> {
  const info = { schemaType: 'AVRO', schema: JSON.stringify(schema.definition) };
  return callRegistry(`look up ${schema.name} under ${subject}`, () => client.getId(subject, info, false), {
    notFound: 'SCHEMA_REGISTRY_REJECTED',
  });
}

/**
 * The writer schema (Avro JSON text) registered under `id`. An id the registry does not know was
 * once given by it to a producer: the registry has forgotten it (`SCHEMA_REGISTRY_MISMATCH`).
 */
export async function fetchWriterSchema(client: Client, id: number): Promise<string> {
  // An empty subject asks for the id in the default context, whatever subject registered it.
  const info = await callRegistry(`fetch schema id ${id}`, () => client.getBySubjectAndId('', id), {
    notFound: 'SCHEMA_REGISTRY_MISMATCH',
  });
  if (info.schemaType !== undefined && info.schemaType !== 'AVRO') {
    throw schemaErrors('SCHEMA_WRONG_SCHEMA', `schema id ${id} is ${info.schemaType}, not AVRO`);
  }
  return info.schema;
}

/** Run a registry call, turning its failures into coded errors: unreachable or 5xx is retriable. */
async function callRegistry<Result>(
  action: string,
  call: () => Promise<Result>,
  codes: { notFound?: SchemaErrorCode } = {},
): Promise<Result> {
  try {
    return await call();
  } catch (cause) {
    if (!(cause instanceof RestError)) {
      throw schemaErrors('SCHEMA_REGISTRY_UNAVAILABLE', `${action}: ${(cause as Error).message}`, { cause });
    }
    const detail = `${action}: ${cause.status} ${cause.message}`;
    if (cause.status >= 500 || cause.status === 408 || cause.status === 429) {
      throw schemaErrors('SCHEMA_REGISTRY_UNAVAILABLE', detail, { cause });
    }
    if (cause.status === 409) throw schemaErrors('SCHEMA_INCOMPATIBLE', detail, { cause });
    if (cause.status === 404 && codes.notFound) throw schemaErrors(codes.notFound, detail, { cause });
    throw schemaErrors('SCHEMA_REGISTRY_REJECTED', detail, { cause });
  }
}
