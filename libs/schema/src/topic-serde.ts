import type { Client } from '@confluentinc/schemaregistry/dist/schemaregistry-client.js';
import type { GranaryError } from '@granary/errors';
import avro from 'avsc';
import type { AvroSchema } from './avro-schema.ts';
import { checkDeclaredLengths } from './declared-lengths.ts';
import { type SchemaErrorCode, schemaErrors } from './errors.ts';
import { fetchWriterSchema, lookUpSchemaId, registerSchema, valueSubject } from './registry.ts';
import { HEADER_LENGTH, MAGIC_BYTE, readSchemaId, writeHeader } from './wire-format.ts';

/**
 * Decoded records carry their fields only, without avsc's `clone`/`toBuffer`/… record methods. A
 * fresh object per type: avsc keeps its registry of named types in the options it is given.
 */
const typeOptions = () => ({ omitRecordMethods: true });

/** How to read records of one writer schema id; `resolver` is absent when writer equals reader. */
interface WriterReading {
  /** The type the bytes follow, whose declared lengths are checked before avsc reads them. */
  writer: avro.Type;
  resolver: avro.Resolver | undefined;
}

export interface TopicSerdeOptions {
  /**
   * Register the schema at creation (producers of the topic: they own what they write). When false,
   * the schema must already be registered; its id is looked up.
   */
  register?: boolean;
}

/** Outcome of decoding one record of a batch: the value, or the coded reason it cannot be read. */
export type DecodeOutcome<Value> =
  | { ok: true; value: Value }
  | { ok: false; error: GranaryError<SchemaErrorCode> };

/**
 * Encodes and decodes the values of one topic in the Confluent wire format, with the schema
 * registered under the topic's TopicNameStrategy subject.
 *
 * Rather than going through the registry package's `AvroSerializer`/`AvroDeserializer`, which per
 * record stringify the schema for a cache key, run the rule engine and await several promises, this
 * uses the registry client only to register the schema and to resolve writer schema ids (once per
 * id), then encodes and decodes with one cached avsc Type and one cached resolver per writer id.
 * The bytes are the same; `libs/schema/test/topic-serde.test.ts` checks both directions against the
 * package's serde, and the benchmark measures the difference.
 */
export class TopicSerde<Value> {
  readonly subject: string;
  /** Registry id of the schema this serde writes with. */
  readonly schemaId: number;
  private readonly type: avro.Type;
  private readonly readings = new Map<number, Promise<WriterReading>>();
  /** Settled entries of `readings`, so decoding a known id costs no promise. */
  private readonly settledReadings = new Map<number, WriterReading>();
  private scratch = Buffer.allocUnsafe(64 * 1024);

  private constructor(
    private readonly client: Client,
    readonly topic: string,
    readonly schema: AvroSchema<Value>,
    schemaId: number,
  ) {
    this.subject = valueSubject(topic);
    this.schemaId = schemaId;
    this.type = avro.Type.forSchema(schema.definition as avro.Schema, typeOptions());
    writeHeader(this.scratch, schemaId);
    this.settledReadings.set(schemaId, { writer: this.type, resolver: undefined });
  }

  static async create<Value>(
    client: Client,
    topic: string,
    schema: AvroSchema<Value>,
    options: TopicSerdeOptions = {},
  ): Promise<TopicSerde<Value>> {
    const subject = valueSubject(topic);
    const id =
      options.register === false
        ? await lookUpSchemaId(client, subject, schema)
        : await registerSchema(client, subject, schema);
    return new TopicSerde(client, topic, schema, id);
  }

  /** The framed bytes of `value`; throws `SCHEMA_INVALID_VALUE` when it does not fit the schema. */
  encode(value: Value): Buffer {
    let end: number;
    try {
      end = this.type.encode(value, this.scratch, HEADER_LENGTH);
      if (end < 0) {
        // avsc reports how many bytes were missing; grow once and encode again.
        this.scratch = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.scratch.length - end));
        writeHeader(this.scratch, this.schemaId);
        end = this.type.encode(value, this.scratch, HEADER_LENGTH);
      }
    } catch (cause) {
      throw schemaErrors('SCHEMA_INVALID_VALUE', `${this.schema.name}: ${(cause as Error).message}`, {
        cause,
      });
    }
    return Buffer.from(this.scratch.subarray(0, end));
  }

  /** Decode one framed record; throws a coded error (see `schemaErrors`) when it cannot be read. */
  async decode(record: Buffer): Promise<Value> {
    const id = readSchemaId(record);
    const reading = this.settledReadings.get(id) ?? (await this.readingFor(id));
    return this.decodeBody(record, id, reading);
  }

  /**
   * Decode a batch: one registry round trip per writer id not seen before, then synchronous
   * decoding. A record that cannot be read gets its reason instead of failing the batch; a registry
   * outage (retriable) rejects the whole call, since retrying it is the right thing for all records.
   */
  async decodeAll(records: readonly Buffer[]): Promise<Array<DecodeOutcome<Value>>> {
    const unseen = new Set<number>();
    for (const record of records) {
      if (record.length >= HEADER_LENGTH && record[0] === MAGIC_BYTE) {
        const id = record.readUInt32BE(1);
        if (!this.settledReadings.has(id)) unseen.add(id);
      }
    }
    const unreadableIds = new Map<number, GranaryError<SchemaErrorCode>>();
    await Promise.all(
      [...unseen].map((id) =>
        this.readingFor(id).catch((error: unknown) => {
          if (!schemaErrors.is(error) || error.retriable) throw error;
          unreadableIds.set(id, error);
        }),
      ),
    );
    return records.map((record) => {
      try {
        const id = readSchemaId(record);
        const reading = this.settledReadings.get(id);
        if (!reading)
          throw unreadableIds.get(id) ?? schemaErrors('SCHEMA_UNKNOWN_SCHEMA_ID', `schema id ${id}`);
        return { ok: true, value: this.decodeBody(record, id, reading) };
      } catch (error) {
        if (!schemaErrors.is(error)) throw error;
        return { ok: false, error };
      }
    });
  }

  private decodeBody(record: Buffer, id: number, reading: WriterReading): Value {
    checkDeclaredLengths(reading.writer, record, HEADER_LENGTH);
    let decoded: { value: unknown; offset: number };
    try {
      decoded = this.type.decode(record, HEADER_LENGTH, reading.resolver);
    } catch (cause) {
      throw schemaErrors('SCHEMA_CORRUPT_RECORD', `schema id ${id}: ${(cause as Error).message}`, { cause });
    }
    if (decoded.offset !== record.length) {
      const problem = decoded.offset < 0 ? 'truncated' : `${record.length - decoded.offset} trailing bytes`;
      throw schemaErrors('SCHEMA_CORRUPT_RECORD', `schema id ${id}: ${problem}`);
    }
    return decoded.value as Value;
  }

  private readingFor(id: number): Promise<WriterReading> {
    let reading = this.readings.get(id);
    if (!reading) {
      reading = this.resolveWriter(id).then(
        (settled) => {
          this.settledReadings.set(id, settled);
          return settled;
        },
        (error: unknown) => {
          // Forget failures: the registry may come back, and an id unknown now may be registered later.
          this.readings.delete(id);
          throw error;
        },
      );
      this.readings.set(id, reading);
    }
    return reading;
  }

  private async resolveWriter(id: number): Promise<WriterReading> {
    const writerText = await fetchWriterSchema(this.client, id);
    let writer: avro.Type;
    try {
      writer = avro.Type.forSchema(JSON.parse(writerText) as avro.Schema, typeOptions());
    } catch (cause) {
      throw schemaErrors('SCHEMA_WRONG_SCHEMA', `schema id ${id} is not a usable Avro schema`, { cause });
    }
    if (writer.equals(this.type)) return { writer: this.type, resolver: undefined };
    // Evolution keeps the record's full name; another name means the registry answers the id with
    // some other schema (wiped and refilled, or pointed elsewhere), not that the record is bad.
    const writerName = (writer as { name?: string }).name;
    if (writerName !== this.schema.name) {
      throw schemaErrors(
        'SCHEMA_REGISTRY_MISMATCH',
        `schema id ${id} is ${writerName ?? writer.typeName} in the registry, topic ${this.topic} expects ${this.schema.name}`,
      );
    }
    try {
      return { writer, resolver: this.type.createResolver(writer) };
    } catch (cause) {
      throw schemaErrors(
        'SCHEMA_WRONG_SCHEMA',
        `${this.schema.name} cannot read schema id ${id} (${(writer as { name?: string }).name ?? writer.typeName})`,
        { cause },
      );
    }
  }
}
