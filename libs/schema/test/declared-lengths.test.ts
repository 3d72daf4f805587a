import { aMeasureBatch, aSample } from '@granary/testing/schema-fixtures';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  TopicSerde,
  createSchemaRegistryClient,
  measureBatchSchema,
  sampleSchema,
  schemaErrors,
} from '../index.ts';
import { checkDeclaredLengths } from '../src/declared-lengths.ts';

const long = avro.Type.forSchema('long');
const varint = (n: number) => long.toBuffer(n);
const text = (value: string) => Buffer.concat([varint(Buffer.byteLength(value)), Buffer.from(value)]);

function framed(schemaId: number, ...body: Buffer[]): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, ...body]);
}

function refusal(check: () => void): string | undefined {
  try {
    check();
  } catch (error) {
    if (schemaErrors.is(error, 'SCHEMA_CORRUPT_RECORD')) return error.message;
    throw error;
  }
  return undefined;
}

describe('declared lengths are checked against the bytes before avsc reads them', () => {
  it('refuses a MeasureBatch whose array declares 2^40 items, at once and without allocating', async () => {
    const measures = await TopicSerde.create(
      createSchemaRegistryClient({ url: 'mock://declared-lengths' }),
      'granary.measures',
      measureBatchSchema,
    );
    const metricId = aMeasureBatch().metric_id;
    for (const count of [2 ** 40, 2 ** 30, 3]) {
      const record = framed(measures.schemaId, text(metricId), varint(count), varint(1), varint(2));
      const started = performance.now();
      const [outcome] = await measures.decodeAll([record]);
      expect(performance.now() - started).toBeLessThan(100);
      expect(outcome).toMatchObject({ ok: false, error: { code: 'SCHEMA_CORRUPT_RECORD' } });
      expect(outcome!.ok ? '' : outcome!.error.message).toContain(`declares ${count} items`);
    }
    // A negative count (block with its byte size) is bounded the same way.
    const blocked = framed(measures.schemaId, text(metricId), varint(-(2 ** 35)), varint(8));
    expect((await measures.decodeAll([blocked]))[0]).toMatchObject({ ok: false });
    const batch = aMeasureBatch();
    expect(await measures.decode(measures.encode(batch))).toEqual(batch);
  });

  it('refuses strings and bytes longer than what remains, and map blocks as arrays', () => {
    const sample = avro.Type.forSchema(sampleSchema.definition as avro.Schema);
    const good = sample.toBuffer(aSample());
    expect(refusal(() => checkDeclaredLengths(sample, good, 0))).toBeUndefined();
    // counter_name is the first field: claim 2^50 bytes for it.
    const hugeString = Buffer.concat([varint(2 ** 50), good.subarray(1)]);
    expect(refusal(() => checkDeclaredLengths(sample, hugeString, 0))).toMatch(
      /string declares 1125899906842624 bytes/,
    );

    const map = avro.Type.forSchema({ type: 'map', values: 'bytes' });
    expect(
      refusal(() => checkDeclaredLengths(map, map.toBuffer({ a: Buffer.from('xy') }), 0)),
    ).toBeUndefined();
    expect(refusal(() => checkDeclaredLengths(map, Buffer.concat([varint(2 ** 31), text('a')]), 0))).toMatch(
      /map block declares 2147483648 items/,
    );
    const bytes = avro.Type.forSchema('bytes');
    expect(
      refusal(() => checkDeclaredLengths(bytes, Buffer.concat([varint(10), Buffer.alloc(3)]), 0)),
    ).toMatch(/bytes declares 10 bytes where 3 remain/);
    expect(refusal(() => checkDeclaredLengths(bytes, varint(-1), 0))).toMatch(/declares -1 bytes/);
  });

  it('refuses truncated records and union branches that do not exist', () => {
    const union = avro.Type.forSchema(['null', 'double']);
    expect(refusal(() => checkDeclaredLengths(union, varint(1), 0))).toBe(
      'Record is not a Confluent-framed Avro value of its writer schema: truncated',
    );
    expect(refusal(() => checkDeclaredLengths(union, varint(7), 0))).toMatch(/union branch out of range/);
    const longs = avro.Type.forSchema({ type: 'array', items: 'long' });
    expect(refusal(() => checkDeclaredLengths(longs, longs.toBuffer([1, -300, 2 ** 40]), 0))).toBeUndefined();
    expect(refusal(() => checkDeclaredLengths(longs, Buffer.from([4, 0x81, 0x81, 0x81]), 0))).toBe(
      'Record is not a Confluent-framed Avro value of its writer schema: truncated',
    );
    // Items of no size count as one byte each: the bound holds for them too.
    const nulls = avro.Type.forSchema({ type: 'array', items: 'null' });
    expect(
      refusal(() => checkDeclaredLengths(nulls, Buffer.concat([varint(1), varint(0)]), 0)),
    ).toBeUndefined();
    expect(refusal(() => checkDeclaredLengths(nulls, varint(2 ** 40), 0))).toMatch(/declares/);
  });
});
