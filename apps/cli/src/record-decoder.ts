import {
  HEADER_LENGTH,
  type SchemaRegistryClient,
  fetchWriterSchema,
  readSchemaId,
  schemaErrors,
} from '@granary/schema';
import avro from 'avsc';

/**
 * Decodes Confluent-framed Avro values of any topic with the schema they were written with,
 * fetched from the registry by id (once per id). Unlike `TopicSerde`, which reads a topic's values
 * into the current reader schema, this shows a record exactly as written, so `dump` works on any
 * topic, dead-letter topics and records of older schema versions included.
 */
export class WriterSchemaDecoder {
  private readonly types = new Map<number, Promise<avro.Type>>();

  constructor(private readonly registry: SchemaRegistryClient) {}

  /** The decoded value; a coded `schemaErrors` error when the bytes cannot be read. */
  async decode(bytes: Buffer): Promise<unknown> {
    const id = readSchemaId(bytes);
    const type = await this.typeFor(id);
    let decoded: { value: unknown; offset: number };
    try {
      decoded = type.decode(bytes, HEADER_LENGTH);
    } catch (cause) {
      throw schemaErrors('SCHEMA_CORRUPT_RECORD', `schema id ${id}: ${(cause as Error).message}`, { cause });
    }
    if (decoded.offset !== bytes.length) {
      const problem = decoded.offset < 0 ? 'truncated' : `${bytes.length - decoded.offset} trailing bytes`;
      throw schemaErrors('SCHEMA_CORRUPT_RECORD', `schema id ${id}: ${problem}`);
    }
    return decoded.value;
  }

  private typeFor(id: number): Promise<avro.Type> {
    let type = this.types.get(id);
    if (!type) {
      type = fetchWriterSchema(this.registry, id).then((text) => {
        try {
          return avro.Type.forSchema(JSON.parse(text) as avro.Schema, { omitRecordMethods: true });
        } catch (cause) {
          throw schemaErrors('SCHEMA_WRONG_SCHEMA', `schema id ${id} is not a usable Avro schema`, { cause });
        }
      });
      // A failed look-up is not cached: the registry may be back, or the id registered, next time.
      type.catch(() => this.types.delete(id));
      this.types.set(id, type);
    }
    return type;
  }
}
