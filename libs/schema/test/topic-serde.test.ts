import { AvroDeserializer, AvroSerializer, SerdeType } from '@confluentinc/schemaregistry';
import { isRetriable } from '@granary/errors';
import {
  aMeasureBatch,
  aMitakaSample,
  aSample,
  mitakaSampleSchema,
  readAsCurrent,
} from '@granary/testing/schema-fixtures';
import { describe, expect, it } from 'vitest';
import {
  type SchemaRegistryClient,
  TopicSerde,
  createSchemaRegistryClient,
  measureBatchSchema,
  sampleSchema,
  schemaErrors,
  valueSubject,
} from '../index.ts';

const mockRegistry = (): SchemaRegistryClient => createSchemaRegistryClient({ url: 'mock://unit' });

describe('TopicSerde (mock registry)', () => {
  it('round-trips a Sample and a MeasureBatch in the Confluent wire format', async () => {
    const registry = mockRegistry();
    const samples = await TopicSerde.create(registry, 'granary.samples', sampleSchema);
    const measures = await TopicSerde.create(registry, 'granary.measures', measureBatchSchema);

    const sample = aSample();
    const bytes = samples.encode(sample);
    expect(bytes[0]).toBe(0);
    expect(bytes.readUInt32BE(1)).toBe(samples.schemaId);
    expect(await samples.decode(bytes)).toEqual(sample);

    const batch = aMeasureBatch();
    expect(await measures.decode(measures.encode(batch))).toEqual(batch);
  });

  it('registers under the TopicNameStrategy subject and makes it BACKWARD compatible', async () => {
    const registry = mockRegistry();
    const serde = await TopicSerde.create(registry, 'granary.samples', sampleSchema);
    expect(serde.subject).toBe('granary.samples-value');
    expect(await registry.getCompatibility(valueSubject('granary.samples'))).toBe('BACKWARD');
    expect((await registry.getLatestSchemaMetadata(serde.subject)).id).toBe(serde.schemaId);
  });

  it('looks the schema id up without registering when asked to', async () => {
    const registry = mockRegistry();
    await expect(
      TopicSerde.create(registry, 'granary.samples', sampleSchema, { register: false }),
    ).rejects.toMatchObject({ code: 'SCHEMA_REGISTRY_REJECTED' });
    const writer = await TopicSerde.create(registry, 'granary.samples', sampleSchema);
    const reader = await TopicSerde.create(registry, 'granary.samples', sampleSchema, { register: false });
    expect(reader.schemaId).toBe(writer.schemaId);
  });

  it('writes bytes the registry package deserializes, and reads bytes its serializer writes', async () => {
    const registry = mockRegistry();
    const serde = await TopicSerde.create(registry, 'granary.samples', sampleSchema);
    const theirDeserializer = new AvroDeserializer(registry, SerdeType.VALUE, {});
    const theirSerializer = new AvroSerializer(registry, SerdeType.VALUE, { useLatestVersion: true });
    const sample = aSample({ user_id: null, monotonic_time: null });

    expect(await theirDeserializer.deserialize('granary.samples', serde.encode(sample))).toEqual(sample);
    const theirBytes = await theirSerializer.serialize('granary.samples', sample);
    expect(theirBytes.equals(serde.encode(sample))).toBe(true);
    expect(await serde.decode(theirBytes)).toEqual(sample);
  });

  it('reads a record written with an older registered schema, filling the new fields with defaults', async () => {
    const registry = mockRegistry();
    const old = await TopicSerde.create(registry, 'granary.samples', mitakaSampleSchema);
    const mitakaSample = aMitakaSample();
    const oldBytes = old.encode(mitakaSample);

    const current = await TopicSerde.create(registry, 'granary.samples', sampleSchema);
    expect(current.schemaId).not.toBe(old.schemaId);
    expect(await current.decode(oldBytes)).toEqual(readAsCurrent(mitakaSample));
  });

  it('keeps microsecond timestamps exact up to 2^53 and refuses values beyond', async () => {
    const serde = await TopicSerde.create(mockRegistry(), 'granary.measures', measureBatchSchema);
    // avsc's largest safe long is 2^53 - 2 (the year 287,396 in microseconds).
    const edge = {
      metric_id: aMeasureBatch().metric_id,
      timestamps: [2 ** 53 - 2, -1],
      values: [1, 2],
    };
    expect(await serde.decode(serde.encode(edge))).toEqual(edge);
    expect(() => serde.encode({ ...edge, timestamps: [2 ** 60, 0] })).toThrow(
      expect.objectContaining({ code: 'SCHEMA_INVALID_VALUE' }),
    );
  });

  it('refuses to encode a value that does not match the schema', async () => {
    const serde = await TopicSerde.create(mockRegistry(), 'granary.samples', sampleSchema);
    const notASample = { ...aSample(), counter_type: 'rate' } as unknown as Parameters<
      typeof serde.encode
    >[0];
    expect(() => serde.encode(notASample)).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID_VALUE' }));
  });

  it('encodes values larger than its scratch buffer', async () => {
    const serde = await TopicSerde.create(mockRegistry(), 'granary.measures', measureBatchSchema);
    const big = aMeasureBatch(20_000);
    expect(await serde.decode(serde.encode(big))).toEqual(big);
  });

  describe('records it cannot read', () => {
    const setUp = async () => {
      const registry = mockRegistry();
      const samples = await TopicSerde.create(registry, 'granary.samples', sampleSchema);
      const measures = await TopicSerde.create(registry, 'granary.measures', measureBatchSchema);
      const good = measures.encode(aMeasureBatch(3));
      return { samples, measures, good };
    };

    it.each([
      ['empty', Buffer.alloc(0)],
      ['no magic byte', Buffer.from('{"metric_id":"x"}')],
      ['header only', Buffer.from([0, 0, 0, 0, 2])],
    ])('%s → SCHEMA_CORRUPT_RECORD', async (_name, bytes) => {
      const { measures } = await setUp();
      await expect(measures.decode(bytes)).rejects.toMatchObject({ code: 'SCHEMA_CORRUPT_RECORD' });
    });

    it('truncated or with trailing bytes → SCHEMA_CORRUPT_RECORD', async () => {
      const { measures, good } = await setUp();
      await expect(measures.decode(good.subarray(0, good.length - 3))).rejects.toMatchObject({
        code: 'SCHEMA_CORRUPT_RECORD',
        message: expect.stringContaining('truncated'),
      });
      await expect(measures.decode(Buffer.concat([good, Buffer.from([1, 2])]))).rejects.toMatchObject({
        code: 'SCHEMA_CORRUPT_RECORD',
        message: expect.stringContaining('2 trailing bytes'),
      });
    });

    it('unknown schema id → retriable SCHEMA_REGISTRY_MISMATCH naming the id, not a dead letter', async () => {
      const { measures, good } = await setUp();
      const unknown = Buffer.from(good);
      unknown.writeUInt32BE(987_654, 1);
      const error = await measures.decode(unknown).catch((e: unknown) => e);
      expect(schemaErrors.is(error, 'SCHEMA_REGISTRY_MISMATCH')).toBe(true);
      expect(isRetriable(error)).toBe(true);
      expect((error as Error).message).toContain('987654');
    });

    it('an id the registry maps to another record type → retriable SCHEMA_REGISTRY_MISMATCH naming both', async () => {
      const { samples, measures } = await setUp();
      const error = await measures.decode(samples.encode(aSample())).catch((e: unknown) => e);
      expect(schemaErrors.is(error, 'SCHEMA_REGISTRY_MISMATCH')).toBe(true);
      expect(isRetriable(error)).toBe(true);
      expect((error as Error).message).toContain(`schema id ${samples.schemaId}`);
      expect((error as Error).message).toContain('expects org.granary.MeasureBatch');
    });

    it('the same record type in a shape this reader cannot resolve → SCHEMA_WRONG_SCHEMA', async () => {
      const { measures } = await setUp();
      const registry = (measures as unknown as { client: SchemaRegistryClient }).client;
      const clash = {
        type: 'record',
        name: 'MeasureBatch',
        namespace: 'org.granary',
        fields: [{ name: 'metric_id', type: 'long' }],
      };
      const id = await registry.register(
        'clash-value',
        { schemaType: 'AVRO', schema: JSON.stringify(clash) },
        false,
      );
      const record = Buffer.from([0, 0, 0, 0, 0, 2]);
      record.writeUInt32BE(id, 1);
      const error = await measures.decode(record).catch((e: unknown) => e);
      expect(schemaErrors.is(error, 'SCHEMA_WRONG_SCHEMA')).toBe(true);
      expect(isRetriable(error)).toBe(false);
    });

    it('decodeAll returns each record value or reason, in order', async () => {
      const { measures, good } = await setUp();
      const outcomes = await measures.decodeAll([good, Buffer.from('junk'), good]);
      expect(outcomes.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual([
        'ok',
        'SCHEMA_CORRUPT_RECORD',
        'ok',
      ]);
      expect(outcomes[0]).toEqual({ ok: true, value: aMeasureBatch(3) });
    });

    it('decodeAll rejects the whole batch when the registry is wrong about one id, so nothing is dead-lettered', async () => {
      const { samples, measures, good } = await setUp();
      await expect(measures.decodeAll([good, samples.encode(aSample())])).rejects.toMatchObject({
        code: 'SCHEMA_REGISTRY_MISMATCH',
      });
    });
  });

  it('reports an unreachable registry as retriable SCHEMA_REGISTRY_UNAVAILABLE', async () => {
    const unreachable = createSchemaRegistryClient({ url: 'http://127.0.0.1:9' });
    const error = await TopicSerde.create(unreachable, 'granary.samples', sampleSchema).catch(
      (e: unknown) => e,
    );
    expect(schemaErrors.is(error, 'SCHEMA_REGISTRY_UNAVAILABLE')).toBe(true);
    expect(isRetriable(error)).toBe(true);
  });
});
