import { randomUUID } from 'node:crypto';
import { isRetriable } from '@granary/errors';
import { infra } from '@granary/testing/infra';
import {
  aMeasureBatch,
  aMitakaSample,
  aSample,
  mitakaSampleSchema,
  readAsCurrent,
} from '@granary/testing/schema-fixtures';
import { describe, expect, it } from 'vitest';
import {
  type AvroSchema,
  TopicSerde,
  createSchemaRegistryClient,
  measureBatchSchema,
  sampleSchema,
  schemaErrors,
} from '../index.ts';

const subjects = () => `${infra().schemaRegistryUrl}/subjects`;
const registry = () => createSchemaRegistryClient({ url: infra().schemaRegistryUrl });
const uniqueTopic = (name: string) => `test.${name}.${randomUUID().slice(0, 8)}`;

describe('TopicSerde against the real schema registry', () => {
  it('round-trips Sample and MeasureBatch, a fresh reader resolving the writer id through the registry', async () => {
    const samplesTopic = uniqueTopic('samples');
    const measuresTopic = uniqueTopic('measures');
    const samplesWriter = await TopicSerde.create(registry(), samplesTopic, sampleSchema);
    const measuresWriter = await TopicSerde.create(registry(), measuresTopic, measureBatchSchema);
    const samplesReader = await TopicSerde.create(registry(), samplesTopic, sampleSchema, {
      register: false,
    });
    const measuresReader = await TopicSerde.create(registry(), measuresTopic, measureBatchSchema, {
      register: false,
    });

    const sample = aSample();
    const batch = aMeasureBatch(100);
    expect(await samplesReader.decode(samplesWriter.encode(sample))).toEqual(sample);
    expect(await measuresReader.decode(measuresWriter.encode(batch))).toEqual(batch);
    expect(samplesReader.schemaId).toBe(samplesWriter.schemaId);
  });

  it('sets BACKWARD on the TopicNameStrategy subject', async () => {
    const client = registry();
    const topic = uniqueTopic('samples');
    const serde = await TopicSerde.create(client, topic, sampleSchema);
    expect(serde.subject).toBe(`${topic}-value`);
    expect(await client.getCompatibility(serde.subject)).toBe('BACKWARD');
  });

  it('accepts the current Sample after the Mitaka one, and still decodes records written with the older', async () => {
    const topic = uniqueTopic('samples');
    const old = await TopicSerde.create(registry(), topic, mitakaSampleSchema);
    const mitakaSample = aMitakaSample();
    const oldBytes = old.encode(mitakaSample);

    const current = await TopicSerde.create(registry(), topic, sampleSchema);
    expect(current.schemaId).not.toBe(old.schemaId);
    expect(await current.decode(oldBytes)).toEqual(readAsCurrent(mitakaSample));
  });

  it('refuses a next version that could not read the records already written', async () => {
    const topic = uniqueTopic('measures');
    await TopicSerde.create(registry(), topic, measureBatchSchema);
    const withRequiredField: AvroSchema<unknown> = {
      ...measureBatchSchema,
      definition: {
        ...measureBatchSchema.definition,
        fields: [
          ...(measureBatchSchema.definition.fields as object[]),
          { name: 'unit', type: 'string', doc: 'Added without a default.' },
        ],
      },
    };
    const error = await TopicSerde.create(registry(), topic, withRequiredField).catch((e: unknown) => e);
    expect(schemaErrors.is(error, 'SCHEMA_INCOMPATIBLE')).toBe(true);
  });

  it('refuses, retriably and naming the id, records whose schema the registry forgot or maps to another type', async () => {
    const topic = uniqueTopic('measures');
    // Content of its own (Apicurio's ids are content ids, shared by subjects with the same text), so
    // deleting the subject removes the id.
    const unique = { ...measureBatchSchema, definition: { ...measureBatchSchema.definition, doc: topic } };
    const writer = await TopicSerde.create(registry(), topic, unique);
    const written = [writer.encode(aMeasureBatch(1)), writer.encode(aMeasureBatch(2))];
    const samples = await TopicSerde.create(registry(), uniqueTopic('samples'), sampleSchema);

    // A fresh client caches nothing; the registry answers the samples id with a Sample schema.
    const reader = await TopicSerde.create(registry(), uniqueTopic('measures'), measureBatchSchema);
    const wrongType = await reader.decodeAll([samples.encode(aSample())]).catch((e: unknown) => e);
    expect(schemaErrors.is(wrongType, 'SCHEMA_REGISTRY_MISMATCH')).toBe(true);
    expect((wrongType as Error).message).toContain('expects org.granary.MeasureBatch');

    // Wipe the subject, as a registry that lost its storage would have: the ids are unknown now.
    const subject = `${subjects()}/${encodeURIComponent(writer.subject)}`;
    expect((await fetch(subject, { method: 'DELETE' })).ok).toBe(true);
    expect((await fetch(`${subject}?permanent=true`, { method: 'DELETE' })).ok).toBe(true);
    const forgotten = await reader.decodeAll(written).catch((e: unknown) => e);
    expect(schemaErrors.is(forgotten, 'SCHEMA_REGISTRY_MISMATCH')).toBe(true);
    expect(isRetriable(forgotten)).toBe(true);
    expect((forgotten as Error).message).toContain(`schema id ${writer.schemaId}`);
  });
});
