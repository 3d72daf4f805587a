/** Public surface of @granary/schema: the Avro types of `schemas/*.avsc` and their registry serde. */
export type { AvroSchema } from './src/avro-schema.ts';
export { schemaErrors } from './src/errors.ts';
export type { SchemaErrorCode } from './src/errors.ts';
export { measureBatchSchema, sampleSchema } from './src/generated.ts';
export { MEASURES_PER_RECORD, measuresWriter } from './src/measures-writer.ts';
export type { MeasuresWriter } from './src/measures-writer.ts';
export type { CounterType, MeasureBatch, Sample } from './src/generated.ts';
export {
  createSchemaRegistryClient,
  fetchWriterSchema,
  lookUpSchemaId,
  registerSchema,
  valueSubject,
} from './src/registry.ts';
export type { SchemaRegistryClient } from './src/registry.ts';
export { TopicSerde } from './src/topic-serde.ts';
export type { DecodeOutcome, TopicSerdeOptions } from './src/topic-serde.ts';
export { HEADER_LENGTH, MAGIC_BYTE, readSchemaId } from './src/wire-format.ts';
