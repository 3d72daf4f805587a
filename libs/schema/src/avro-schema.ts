/**
 * An Avro record schema from `schemas/*.avsc` tied to the TypeScript type of its values. The type
 * parameter exists only for inference: `createTopicSerde(registry, topic, sampleSchema)` knows it
 * encodes and decodes `Sample` without the caller naming the type again.
 */
export interface AvroSchema<Value> {
  /** Full name of the record (`namespace.name`). */
  readonly name: string;
  /** The `.avsc` file under `schemas/` this schema comes from. */
  readonly file: string;
  /** The schema as parsed JSON, exactly as in the file. */
  readonly definition: Readonly<Record<string, unknown>>;
  /** Never set; carries `Value` for type inference. */
  readonly valueType?: Value;
}
