import { schemaErrors } from './errors.ts';

/**
 * Confluent wire format: magic byte 0, the writer schema id as a 4-byte big-endian integer, then the
 * Avro binary body. (The newer 0x01 + GUID framing is not written by anything in Granary.)
 */
export const MAGIC_BYTE = 0;
export const HEADER_LENGTH = 5;

/** The writer schema id of a framed record; a coded error when the framing is not there. */
export function readSchemaId(record: Buffer): number {
  if (record.length < HEADER_LENGTH) {
    throw schemaErrors('SCHEMA_CORRUPT_RECORD', `${record.length} bytes is shorter than the 5-byte header`);
  }
  if (record[0] !== MAGIC_BYTE) {
    throw schemaErrors('SCHEMA_CORRUPT_RECORD', `magic byte is ${record[0]}, expected ${MAGIC_BYTE}`);
  }
  return record.readUInt32BE(1);
}

export function writeHeader(target: Buffer, schemaId: number): void {
  target[0] = MAGIC_BYTE;
  target.writeUInt32BE(schemaId, 1);
}
