import { crc32 } from 'node:zlib';
import { storageErrors } from './errors.ts';

/**
 * Checkpoint segment: what one partition changed since its previous checkpoint, for every metric it
 * touched: the raw-tail points added and, per aggregation, the buckets recomputed. Immutable once
 * written. Byte layout (little-endian; see docs/segment-format-v1.md):
 *
 *   preamble  magic "GRSG" | u16 format version | u16 flags (none defined: 0) | u32 body length
 *             | u32 CRC-32 of body
 *   body      header | aggregation table | metric table | zero padding to 8 | four f64 columns
 *
 * Columns are shared by all metrics, in metric-table order: decoding copies them out in one go and
 * hands out views, encoding is one typed-array copy per series, whatever the number of metrics.
 */

export interface PointColumns<Column extends ArrayLike<number> = Float64Array> {
  /** Epoch microseconds, ascending. */
  readonly timestamps: Column;
  readonly values: Column;
}

export interface AggregateDelta<Column extends ArrayLike<number> = Float64Array>
  extends PointColumns<Column> {
  readonly method: string;
  readonly granularityUs: number;
}

export interface MetricDelta<Column extends ArrayLike<number> = Float64Array> {
  /** Canonical lowercase UUID text. */
  readonly metricId: string;
  readonly raw: PointColumns<Column>;
  readonly aggregates: readonly AggregateDelta<Column>[];
}

export interface Segment<Column extends ArrayLike<number> = Float64Array> {
  readonly topic: string;
  readonly partition: number;
  readonly seq: number;
  /** Owner generation of the writer (see the manifest). */
  readonly generation: number;
  /** Kafka offsets of the first and last record applied in this segment. */
  readonly firstOffset: number;
  readonly lastOffset: number;
  /** Supplied by the caller: the codec has no clock. */
  readonly createdAtUs: number;
  readonly metrics: readonly MetricDelta<Column>[];
}

/** What `encodeSegment` accepts: plain arrays or typed arrays. */
export type SegmentInput = Segment<ArrayLike<number>>;

export const SEGMENT_FORMAT_VERSION = 1;
const MAGIC = [0x47, 0x52, 0x53, 0x47]; // "GRSG"
const PREAMBLE_BYTES = 16;
/** u64 seq, first offset, last offset; f64 created-at; u32 partition, generation, 4 counts; u16 topic length. */
const FIXED_HEADER_BYTES = 8 * 4 + 4 * 6 + 2;
const UUID_BYTES = 16;
const METRIC_ENTRY_BYTES = UUID_BYTES + 4 + 2;
const SERIES_ENTRY_BYTES = 2 + 4;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const UUID_TEXT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function invalid(detail: string): never {
  throw storageErrors('STORAGE_INVALID_SEGMENT', detail);
}

function corrupt(detail: string): never {
  throw storageErrors('STORAGE_CORRUPT_SEGMENT', detail);
}

function checkUnsigned(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) invalid(`${name} ${value} out of range`);
}

function checkColumns(metricId: string, series: string, columns: PointColumns<ArrayLike<number>>): void {
  if (columns.timestamps.length !== columns.values.length) {
    // The message is built only on failure: this runs for every series of every checkpoint.
    invalid(
      `${metricId} ${series}: ${columns.timestamps.length} timestamps but ${columns.values.length} values`,
    );
  }
}

/** Each distinct (method, granularity) gets one table index, looked up without building strings. */
class AggregationTable {
  readonly entries: { method: Uint8Array; granularityUs: number }[] = [];
  private readonly byMethod = new Map<string, Map<number, number>>();

  indexOf(method: string, granularityUs: number): number {
    let byGranularity = this.byMethod.get(method);
    if (!byGranularity) {
      byGranularity = new Map();
      this.byMethod.set(method, byGranularity);
    }
    const known = byGranularity.get(granularityUs);
    if (known !== undefined) return known;
    const encoded = utf8.encode(method);
    checkUnsigned('method length', encoded.length, U16_MAX);
    if (!Number.isFinite(granularityUs) || granularityUs <= 0) invalid(`granularity ${granularityUs}`);
    const index = this.entries.length;
    checkUnsigned('aggregation count', index + 1, U16_MAX);
    byGranularity.set(granularityUs, index);
    this.entries.push({ method: encoded, granularityUs });
    return index;
  }
}

/** Serialize a segment; throws STORAGE_INVALID_SEGMENT when the content breaks the format's limits. */
export function encodeSegment(segment: SegmentInput): Uint8Array {
  checkUnsigned('partition', segment.partition, U32_MAX);
  checkUnsigned('generation', segment.generation, U32_MAX);
  checkUnsigned('seq', segment.seq, Number.MAX_SAFE_INTEGER);
  checkUnsigned('first offset', segment.firstOffset, Number.MAX_SAFE_INTEGER);
  checkUnsigned('last offset', segment.lastOffset, Number.MAX_SAFE_INTEGER);
  if (segment.firstOffset > segment.lastOffset) invalid('first offset after last offset');
  checkUnsigned('metric count', segment.metrics.length, U32_MAX);
  const topic = utf8.encode(segment.topic);
  checkUnsigned('topic length', topic.length, U16_MAX);

  // Aggregations are named once in a table and referenced by index from each series.
  const aggregations = new AggregationTable();
  const seriesAggregation: number[] = [];
  const seenMetrics = new Set<string>();
  let tablesBytes = 0;
  let rawPoints = 0;
  let bucketPoints = 0;
  for (const metric of segment.metrics) {
    if (!UUID_TEXT.test(metric.metricId)) invalid(`metric id ${metric.metricId}`);
    const metricId = metric.metricId.toLowerCase();
    if (seenMetrics.has(metricId)) invalid(`metric ${metricId} appears twice`);
    seenMetrics.add(metricId);
    checkColumns(metricId, 'raw', metric.raw);
    checkUnsigned('series per metric', metric.aggregates.length, U16_MAX);
    rawPoints += metric.raw.timestamps.length;
    tablesBytes += METRIC_ENTRY_BYTES + SERIES_ENTRY_BYTES * metric.aggregates.length;
    for (const aggregate of metric.aggregates) {
      checkColumns(metricId, aggregate.method, aggregate);
      bucketPoints += aggregate.timestamps.length;
      seriesAggregation.push(aggregations.indexOf(aggregate.method, aggregate.granularityUs));
    }
  }
  for (const entry of aggregations.entries) tablesBytes += 2 + entry.method.length + 8;
  checkUnsigned('raw point count', rawPoints, U32_MAX);
  checkUnsigned('bucket point count', bucketPoints, U32_MAX);

  const headerBytes = FIXED_HEADER_BYTES + topic.length + tablesBytes;
  const columnsStart = PREAMBLE_BYTES + align8(headerBytes);
  const totalBytes = columnsStart + 16 * (rawPoints + bucketPoints);
  const bytes = new Uint8Array(totalBytes);
  const view = new DataView(bytes.buffer);

  bytes.set(MAGIC, 0);
  view.setUint16(4, SEGMENT_FORMAT_VERSION, true);
  view.setUint32(8, totalBytes - PREAMBLE_BYTES, true);

  let at = PREAMBLE_BYTES;
  view.setBigUint64(at, BigInt(segment.seq), true);
  view.setBigUint64(at + 8, BigInt(segment.firstOffset), true);
  view.setBigUint64(at + 16, BigInt(segment.lastOffset), true);
  view.setFloat64(at + 24, segment.createdAtUs, true);
  view.setUint32(at + 32, segment.partition, true);
  view.setUint32(at + 36, segment.generation, true);
  view.setUint32(at + 40, segment.metrics.length, true);
  view.setUint32(at + 44, aggregations.entries.length, true);
  view.setUint32(at + 48, rawPoints, true);
  view.setUint32(at + 52, bucketPoints, true);
  view.setUint16(at + 56, topic.length, true);
  at += FIXED_HEADER_BYTES;
  bytes.set(topic, at);
  at += topic.length;
  for (const entry of aggregations.entries) {
    view.setUint16(at, entry.method.length, true);
    bytes.set(entry.method, at + 2);
    view.setFloat64(at + 2 + entry.method.length, entry.granularityUs, true);
    at += 2 + entry.method.length + 8;
  }
  let series = 0;
  for (const metric of segment.metrics) {
    writeUuid(bytes, at, metric.metricId);
    view.setUint32(at + UUID_BYTES, metric.raw.timestamps.length, true);
    view.setUint16(at + UUID_BYTES + 4, metric.aggregates.length, true);
    at += METRIC_ENTRY_BYTES;
    for (const aggregate of metric.aggregates) {
      view.setUint16(at, seriesAggregation[series++] ?? 0, true);
      view.setUint32(at + 2, aggregate.timestamps.length, true);
      at += SERIES_ENTRY_BYTES;
    }
  }

  const columns = new ColumnWriter(bytes, columnsStart);
  for (const metric of segment.metrics) columns.write(metric.raw.timestamps);
  for (const metric of segment.metrics) columns.write(metric.raw.values);
  for (const metric of segment.metrics)
    for (const aggregate of metric.aggregates) columns.write(aggregate.timestamps);
  for (const metric of segment.metrics)
    for (const aggregate of metric.aggregates) columns.write(aggregate.values);

  view.setUint32(12, crc32(bytes.subarray(PREAMBLE_BYTES)), true);
  return bytes;
}

/**
 * Parse a segment. Any damage (truncation, flipped bits, foreign bytes, a newer format version)
 * throws STORAGE_CORRUPT_SEGMENT; nothing else escapes. The returned columns are fresh arrays that
 * do not alias `bytes`.
 */
export function decodeSegment(bytes: Uint8Array): Segment {
  if (bytes.length < PREAMBLE_BYTES) corrupt(`${bytes.length} bytes is shorter than the preamble`);
  if (MAGIC.some((byte, i) => bytes[i] !== byte)) corrupt('not a segment (bad magic)');
  const preamble = new DataView(bytes.buffer, bytes.byteOffset, PREAMBLE_BYTES);
  const version = preamble.getUint16(4, true);
  if (version !== SEGMENT_FORMAT_VERSION) corrupt(`unsupported format version ${version}`);
  if (preamble.getUint16(6, true) !== 0) corrupt('unknown flags');
  const bodyLength = preamble.getUint32(8, true);
  if (bodyLength !== bytes.length - PREAMBLE_BYTES) {
    corrupt(`body is ${bytes.length - PREAMBLE_BYTES} bytes, header says ${bodyLength} (truncated?)`);
  }
  const body = bytes.subarray(PREAMBLE_BYTES);
  if (crc32(body) !== preamble.getUint32(12, true)) corrupt('checksum mismatch');
  return parseBody(new BodyReader(body));
}

function parseBody(reader: BodyReader): Segment {
  const seq = reader.u64();
  const firstOffset = reader.u64();
  const lastOffset = reader.u64();
  const createdAtUs = reader.f64();
  const partition = reader.u32();
  const generation = reader.u32();
  const metricCount = reader.u32();
  const aggregationCount = reader.u32();
  const rawPoints = reader.u32();
  const bucketPoints = reader.u32();
  const topic = reader.text(reader.u16());

  const aggregations: { method: string; granularityUs: number }[] = [];
  for (let i = 0; i < aggregationCount; i++) {
    const method = reader.text(reader.u16());
    aggregations.push({ method, granularityUs: reader.f64() });
  }

  // The columns fill the end of the body, so their size (from the counts) tells where they start;
  // copying them first lets the metric table be turned into column views in one pass.
  const columns = reader.trailingColumns(2 * (rawPoints + bucketPoints));
  // Every metric entry takes at least METRIC_ENTRY_BYTES, which bounds a forged count.
  if (metricCount > reader.remaining / METRIC_ENTRY_BYTES) corrupt(`metric count ${metricCount}`);
  let rawAt = 0;
  let bucketAt = 2 * rawPoints;
  const metrics: MetricDelta[] = [];
  for (let i = 0; i < metricCount; i++) {
    const metricId = reader.uuid();
    const rawCount = reader.u32();
    const seriesCount = reader.u16();
    if (rawAt + rawCount > rawPoints) corrupt('raw point counts exceed the header total');
    const raw = {
      timestamps: columns.subarray(rawAt, rawAt + rawCount),
      values: columns.subarray(rawPoints + rawAt, rawPoints + rawAt + rawCount),
    };
    rawAt += rawCount;
    const aggregates: AggregateDelta[] = [];
    for (let s = 0; s < seriesCount; s++) {
      const aggregation = aggregations[reader.u16()];
      if (!aggregation) corrupt('aggregation index outside the table');
      const count = reader.u32();
      if (bucketAt + count > 2 * rawPoints + bucketPoints) corrupt('bucket counts exceed the header total');
      aggregates.push({
        method: aggregation.method,
        granularityUs: aggregation.granularityUs,
        timestamps: columns.subarray(bucketAt, bucketAt + count),
        values: columns.subarray(bucketPoints + bucketAt, bucketPoints + bucketAt + count),
      });
      bucketAt += count;
    }
    metrics.push({ metricId, raw, aggregates });
  }
  if (rawAt !== rawPoints || bucketAt !== 2 * rawPoints + bucketPoints) {
    corrupt('point counts disagree with the metric table');
  }
  reader.expectColumnsNext();
  return { topic, partition, seq, generation, firstOffset, lastOffset, createdAtUs, metrics };
}

function align8(length: number): number {
  return Math.ceil(length / 8) * 8;
}

function hexDigit(code: number): number {
  // '0'-'9' → 0-9; 'a'-'f' and 'A'-'F' → 10-15 (the id was validated as UUID text).
  return code <= 0x39 ? code - 0x30 : (code | 0x20) - 0x57;
}

function writeUuid(bytes: Uint8Array, at: number, uuid: string): void {
  let byte = 0;
  for (let i = 0; i < uuid.length; i++) {
    const code = uuid.charCodeAt(i);
    if (code === 0x2d) continue; // '-'
    const high = hexDigit(code);
    bytes[at + byte++] = (high << 4) | hexDigit(uuid.charCodeAt(++i));
  }
}

/** Appends f64 columns; a bulk typed-array copy on little-endian hosts (all Node targets today). */
class ColumnWriter {
  private readonly floats: Float64Array;
  private readonly view: DataView;
  private index = 0;

  constructor(
    bytes: Uint8Array,
    private readonly start: number,
  ) {
    this.floats = new Float64Array(bytes.buffer, start);
    this.view = new DataView(bytes.buffer);
  }

  write(column: ArrayLike<number>): void {
    if (HOST_IS_LITTLE_ENDIAN) {
      this.floats.set(column, this.index);
    } else {
      for (let i = 0; i < column.length; i++) {
        this.view.setFloat64(this.start + 8 * (this.index + i), column[i] ?? Number.NaN, true);
      }
    }
    this.index += column.length;
  }
}

/** Bounds-checked reads over a segment body: running off the end is corruption, never a RangeError. */
class BodyReader {
  private readonly view: DataView;
  private at = 0;
  /** End of the readable region: the body, less the columns once they are taken. */
  private end: number;

  constructor(private readonly body: Uint8Array) {
    this.view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    this.end = body.length;
  }

  get remaining(): number {
    return this.end - this.at;
  }

  private take(length: number): number {
    if (length > this.remaining) corrupt(`needs ${length} bytes at ${this.at}, ${this.remaining} left`);
    const start = this.at;
    this.at += length;
    return start;
  }

  u16(): number {
    return this.view.getUint16(this.take(2), true);
  }

  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  u64(): number {
    const value = this.view.getBigUint64(this.take(8), true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) corrupt(`integer ${value} beyond 2^53`);
    return Number(value);
  }

  f64(): number {
    return this.view.getFloat64(this.take(8), true);
  }

  text(length: number): string {
    const start = this.take(length);
    try {
      return strictUtf8.decode(this.body.subarray(start, start + length));
    } catch {
      return corrupt(`invalid UTF-8 at ${start}`);
    }
  }

  uuid(): string {
    const start = this.take(UUID_BYTES);
    const hex = Buffer.from(this.body.buffer, this.body.byteOffset + start, UUID_BYTES).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /**
   * Copy out the last `count` f64 values of the body (the input may be unaligned) and end the
   * readable region before them.
   */
  trailingColumns(count: number): Float64Array {
    const start = this.end - count * 8;
    if (count * 8 > this.remaining || start % 8 !== 0)
      corrupt(`${this.remaining} bytes left for ${count} values`);
    const copy = this.body.slice(start, this.end);
    this.end = start;
    if (HOST_IS_LITTLE_ENDIAN) return new Float64Array(copy.buffer, 0, count);
    const view = new DataView(copy.buffer);
    return Float64Array.from({ length: count }, (_, i) => view.getFloat64(8 * i, true));
  }

  /** After the tables only zero padding to the 8-byte boundary may precede the columns. */
  expectColumnsNext(): void {
    if (align8(this.at) !== this.end) corrupt('unexpected bytes between the tables and the columns');
    if (this.body.subarray(this.at, this.end).some((byte) => byte !== 0)) corrupt('non-zero padding');
  }
}
