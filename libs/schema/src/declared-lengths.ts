import type avro from 'avsc';
import { schemaErrors } from './errors.ts';

/**
 * avsc trusts the lengths a record declares: an array or map block that claims 2^31 items makes it
 * allocate and loop that many times before it notices the bytes ran out. This walk reads the
 * record as its writer schema says, allocating nothing, and refuses any declared length (string,
 * bytes, array or map block) larger than the bytes that remain; only then is it given to avsc.
 * Items are counted as at least one byte each (an array of nulls, which no Granary schema has, is
 * refused past that), so the walk is linear in the record's size.
 */
export function checkDeclaredLengths(writer: avro.Type, record: Buffer, offset: number): void {
  const cursor: Cursor = { bytes: record, position: offset };
  skipValue(writer, cursor);
  if (cursor.position > record.length) refuse('truncated');
}

interface Cursor {
  readonly bytes: Buffer;
  position: number;
}

/** What a type's node looks like in avsc (its documented accessors). */
interface TypeNode {
  readonly typeName: string;
  readonly fields?: ReadonlyArray<{ type: avro.Type }>;
  readonly itemsType?: avro.Type;
  readonly valuesType?: avro.Type;
  readonly types?: readonly avro.Type[];
  readonly size?: number;
  readonly underlyingType?: avro.Type;
}

const FIXED_SIZES: ReadonlyMap<string, number> = new Map([
  ['null', 0],
  ['boolean', 1],
  ['float', 4],
  ['double', 8],
]);

function refuse(problem: string): never {
  throw schemaErrors('SCHEMA_CORRUPT_RECORD', problem);
}

/** Encoded size of every value of the type when it is constant (null, boolean, float, double, fixed). */
function constantSize(type: avro.Type): number | undefined {
  const node = type as unknown as TypeNode;
  if (node.typeName === 'fixed') return node.size;
  if (node.typeName.startsWith('logical:')) return constantSize(node.underlyingType!);
  return FIXED_SIZES.get(node.typeName);
}

/** A zig-zag varint (int or long); precision past 2^53 does not matter, only the magnitude does. */
function readLong(cursor: Cursor): number {
  let encoded = 0;
  let factor = 1;
  for (let read = 0; read < 10; read++) {
    const byte = cursor.bytes[cursor.position++];
    if (byte === undefined) return refuse('truncated');
    encoded += (byte & 0x7f) * factor;
    if ((byte & 0x80) === 0) return encoded % 2 === 0 ? encoded / 2 : -(encoded + 1) / 2;
    factor *= 128;
  }
  return refuse('a varint longer than 10 bytes');
}

function remaining(cursor: Cursor): number {
  return cursor.bytes.length - cursor.position;
}

function skipValue(type: avro.Type, cursor: Cursor): void {
  const node = type as unknown as TypeNode;
  const size = constantSize(type);
  if (size !== undefined) {
    cursor.position += size;
    return;
  }
  const name = node.typeName;
  if (name === 'int' || name === 'long' || name === 'enum') readLong(cursor);
  else if (name === 'string' || name === 'bytes') {
    const length = readLong(cursor);
    if (length < 0 || length > remaining(cursor))
      refuse(`truncated: ${name} declares ${length} bytes where ${remaining(cursor)} remain`);
    cursor.position += length;
  } else if (name === 'record' || name === 'error') {
    for (const field of node.fields!) skipValue(field.type, cursor);
  } else if (name.startsWith('union')) {
    const branch = node.types![readLong(cursor)];
    if (!branch) refuse('union branch out of range');
    skipValue(branch, cursor);
  } else if (name === 'array') skipBlocks(node.itemsType!, false, cursor);
  else if (name === 'map') skipBlocks(node.valuesType!, true, cursor);
  else if (name.startsWith('logical:')) skipValue(node.underlyingType!, cursor);
  else refuse(`no length check for Avro type ${name}`);
}

function skipBlocks(items: avro.Type, keyed: boolean, cursor: Cursor): void {
  const itemSize = keyed ? undefined : constantSize(items);
  for (;;) {
    let count = readLong(cursor);
    if (count === 0) return;
    if (count < 0) {
      // A negative count is followed by the block's size in bytes (for skipping); items follow.
      count = -count;
      readLong(cursor);
    }
    const room = remaining(cursor);
    if (count > room / Math.max(itemSize ?? 1, 1))
      refuse(
        `truncated: ${keyed ? 'map' : 'array'} block declares ${count} items where ${room} bytes remain`,
      );
    if (itemSize !== undefined) {
      cursor.position += count * itemSize;
      continue;
    }
    if (!keyed && isVarint(items)) {
      skipVarints(count, cursor);
      continue;
    }
    for (let i = 0; i < count; i++) {
      if (keyed) skipValue(STRING, cursor);
      skipValue(items, cursor);
    }
  }
}

function isVarint(type: avro.Type): boolean {
  const name = (type as unknown as TypeNode).typeName;
  return name === 'int' || name === 'long' || name === 'enum';
}

/** `count` varints, counted by their last bytes (the hot path: MeasureBatch timestamps). */
function skipVarints(count: number, cursor: Cursor): void {
  const { bytes } = cursor;
  let position = cursor.position;
  for (let seen = 0; seen < count; position++) {
    const byte = bytes[position];
    if (byte === undefined) refuse('truncated');
    if (byte < 0x80) seen++;
  }
  cursor.position = position;
}

const STRING = { typeName: 'string' } as unknown as avro.Type;
