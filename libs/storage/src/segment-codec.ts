import { crc32 } from 'node:zlib';
import { storageErrors } from './errors.ts';

/**
 * Checkpoint segment: what one partition changed since its previous checkpoint, for every metric it
 * touched: the raw-tail points added and, per aggregation, the buckets recomputed. Immutable once
 * written. Byte layout (little-endian; see docs/segment-format.md):
 *
 *   preamble  magic "GRSG" | u16 format version | u16 flags (none defined: 0) | u32 body length
 *             | u32 CRC-32 of body
 *   body      header | aggregation table | metric table | zero padding to 8 | four f64 columns
 *
 * Columns are shared by all metrics, in metric-table order, so encoding and decoding are a few bulk
 * copies however many metrics a segment holds.
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

function checkColumns(name: string, columns: PointColumns<ArrayLike<number>>): void {
  if (columns.timestamps.length !== columns.values.length) {
    invalid(`${name}: ${columns.timestamps.length} timestamps but ${columns.values.length} values`);
  }
}

function aggregationId(method: string, granularityUs: number): string {
  return `${method}\u0000${granularityUs}`;
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

  // Aggregations are named once in a table and referenced by index from each metric.
  const aggregationIndex = new Map<string, number>();
  const aggregationEntries: { method: Uint8Array; granularityUs: number }[] = [];
  const seenMetrics = new Set<string>();
  let tablesBytes = 0;
  let rawPoints = 0;
  let bucketPoints = 0;
  for (const metric of segment.metrics) {
    if (!UUID_TEXT.test(metric.metricId)) invalid(`metric id ${metric.metricId}`);
    const metricId = metric.metricId.toLowerCase();
    if (seenMetrics.has(metricId)) invalid(`metric ${metricId} appears twice`);
    seenMetrics.add(metricId);
    checkColumns(`metric ${metricId} raw`, metric.raw);
    checkUnsigned('series per metric', metric.aggregates.length, U16_MAX);
    rawPoints += metric.raw.timestamps.length;
    tablesBytes += METRIC_ENTRY_BYTES + SERIES_ENTRY_BYTES * metric.aggregates.length;
    for (const aggregate of metric.aggregates) {
      checkColumns(`metric ${metricId} ${aggregate.method}`, aggregate);
      bucketPoints += aggregate.timestamps.length;
      const id = aggregationId(aggregate.method, aggregate.granularityUs);
      if (aggregationIndex.has(id)) continue;
      const method = utf8.encode(aggregate.method);
      checkUnsigned('method length', method.length, U16_MAX);
      if (!Number.isFinite(aggregate.granularityUs) || aggregate.granularityUs <= 0) {
        invalid(`granularity ${aggregate.granularityUs}`);
      }
      aggregationIndex.set(id, aggregationEntries.length);
      aggregationEntries.push({ method, granularityUs: aggregate.granularityUs });
      tablesBytes += 2 + method.length + 8;
    }
  }
  checkUnsigned('aggregation count', aggregationEntries.length, U16_MAX);
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
  view.setUint32(at + 44, aggregationEntries.length, true);
  view.setUint32(at + 48, rawPoints, true);
  view.setUint32(at + 52, bucketPoints, true);
  view.setUint16(at + 56, topic.length, true);
  at += FIXED_HEADER_BYTES;
  bytes.set(topic, at);
  at += topic.length;
  for (const entry of aggregationEntries) {
    view.setUint16(at, entry.method.length, true);
    bytes.set(entry.method, at + 2);
    view.setFloat64(at + 2 + entry.method.length, entry.granularityUs, true);
    at += 2 + entry.method.length + 8;
  }
  for (const metric of segment.metrics) {
    writeUuid(bytes, at, metric.metricId);
    view.setUint32(at + UUID_BYTES, metric.raw.timestamps.length, true);
    view.setUint16(at + UUID_BYTES + 4, metric.aggregates.length, true);
    at += METRIC_ENTRY_BYTES;
    for (const aggregate of metric.aggregates) {
      const index = aggregationIndex.get(aggregationId(aggregate.method, aggregate.granularityUs)) ?? 0;
      view.setUint16(at, index, true);
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

  // Every metric entry takes at least METRIC_ENTRY_BYTES, which bounds a forged count.
  if (metricCount > reader.remaining / METRIC_ENTRY_BYTES) corrupt(`metric count ${metricCount}`);
  const table: { metricId: string; rawCount: number; series: { aggregation: number; count: number }[] }[] =
    [];
  let rawSum = 0;
  let bucketSum = 0;
  for (let i = 0; i < metricCount; i++) {
    const metricId = reader.uuid();
    const rawCount = reader.u32();
    const seriesCount = reader.u16();
    const series: { aggregation: number; count: number }[] = [];
    for (let s = 0; s < seriesCount; s++) {
      const aggregation = reader.u16();
      if (aggregation >= aggregations.length) corrupt(`aggregation index ${aggregation}`);
      const count = reader.u32();
      bucketSum += count;
      series.push({ aggregation, count });
    }
    rawSum += rawCount;
    table.push({ metricId, rawCount, series });
  }
  if (rawSum !== rawPoints || bucketSum !== bucketPoints)
    corrupt('point counts disagree with the metric table');
  reader.skipPadding();
  const columns = reader.columns(2 * (rawPoints + bucketPoints));

  let rawTimestampsAt = 0;
  let rawValuesAt = rawPoints;
  let bucketTimestampsAt = 2 * rawPoints;
  let bucketValuesAt = 2 * rawPoints + bucketPoints;
  const metrics: MetricDelta[] = table.map((entry) => {
    const raw = {
      timestamps: columns.subarray(rawTimestampsAt, rawTimestampsAt + entry.rawCount),
      values: columns.subarray(rawValuesAt, rawValuesAt + entry.rawCount),
    };
    rawTimestampsAt += entry.rawCount;
    rawValuesAt += entry.rawCount;
    const aggregates = entry.series.map(({ aggregation, count }) => {
      const { method, granularityUs } = aggregations[aggregation]!;
      const delta = {
        method,
        granularityUs,
        timestamps: columns.subarray(bucketTimestampsAt, bucketTimestampsAt + count),
        values: columns.subarray(bucketValuesAt, bucketValuesAt + count),
      };
      bucketTimestampsAt += count;
      bucketValuesAt += count;
      return delta;
    });
    return { metricId: entry.metricId, raw, aggregates };
  });
  return { topic, partition, seq, generation, firstOffset, lastOffset, createdAtUs, metrics };
}

function align8(length: number): number {
  return Math.ceil(length / 8) * 8;
}

function writeUuid(bytes: Uint8Array, at: number, uuid: string): void {
  const hex = uuid.replaceAll('-', '');
  for (let i = 0; i < UUID_BYTES; i++) bytes[at + i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
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

  constructor(private readonly body: Uint8Array) {
    this.view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  }

  get remaining(): number {
    return this.body.length - this.at;
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

  skipPadding(): void {
    // The body starts 8-aligned after the 16-byte preamble, so body offsets align the same way.
    const start = this.take(align8(this.at) - this.at);
    if (this.body.subarray(start, this.at).some((byte) => byte !== 0)) corrupt('non-zero padding');
  }

  /** The rest of the body as exactly `count` f64 values, copied out (the input may be unaligned). */
  columns(count: number): Float64Array {
    if (this.remaining !== count * 8) corrupt(`${this.remaining} column bytes for ${count} values`);
    const start = this.take(count * 8);
    const copy = this.body.slice(start, start + count * 8);
    if (HOST_IS_LITTLE_ENDIAN) return new Float64Array(copy.buffer, 0, count);
    const view = new DataView(copy.buffer);
    return Float64Array.from({ length: count }, (_, i) => view.getFloat64(8 * i, true));
  }
}
