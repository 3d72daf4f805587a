import { carbonaraErrors } from './errors.ts';

/**
 * A series in columnar form: timestamps (epoch µs) strictly increasing, values aligned with them.
 * Functions here never mutate their inputs and may return views (subarrays) of them.
 */
export interface Points {
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
}

export function emptyPoints(): Points {
  return { timestamps: new Float64Array(0), values: new Float64Array(0) };
}

/** First index in [from, to) whose timestamp is >= target (to if none). */
export function lowerBound(
  timestamps: Float64Array,
  target: number,
  from = 0,
  to = timestamps.length,
): number {
  let low = from;
  let high = to;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((timestamps[middle] as number) < target) low = middle + 1;
    else high = middle;
  }
  return low;
}

function slicePoints(points: Points, from: number, to: number): Points {
  return { timestamps: points.timestamps.subarray(from, to), values: points.values.subarray(from, to) };
}

/** Points with `from <= ts < to`; either bound may be omitted. */
export function pointsInRange(points: Points, from?: number, to?: number): Points {
  const { timestamps } = points;
  const first = from === undefined ? 0 : lowerBound(timestamps, from);
  const end = to === undefined ? timestamps.length : lowerBound(timestamps, to, first);
  return slicePoints(points, first, end);
}

/** Gnocchi's `truncate(timespan)`: keeps the points strictly after `last - timespan`. */
export function truncateByTimespan(points: Points, timespan: number): Points {
  const { timestamps } = points;
  if (timestamps.length === 0) return points;
  const horizon = (timestamps[timestamps.length - 1] as number) - timespan;
  return slicePoints(points, lowerBound(timestamps, horizon + 1), timestamps.length);
}

/**
 * Columns reused across calls to avoid allocating per batch; growing replaces the arrays, and
 * contents are only meaningful until the buffer's next use.
 */
export class PointsBuffer implements Points {
  timestamps = new Float64Array(64);
  values = new Float64Array(64);

  reserve(capacity: number): this {
    if (this.timestamps.length < capacity) {
      this.timestamps = new Float64Array(capacity * 2);
      this.values = new Float64Array(capacity * 2);
    }
    return this;
  }
}

const mergeBuffer = new PointsBuffer();

/**
 * Joins point sets that are each sorted and lie in increasing, disjoint ranges (the splits of one
 * series in key order) with one allocation: merging them pairwise would copy the prefix each time.
 */
export function concatPoints(parts: readonly Points[]): Points {
  let length = 0;
  for (const part of parts) length += part.timestamps.length;
  const timestamps = new Float64Array(length);
  const values = new Float64Array(length);
  let at = 0;
  for (const part of parts) {
    timestamps.set(part.timestamps, at);
    values.set(part.values, at);
    at += part.timestamps.length;
  }
  return { timestamps, values };
}

/**
 * Sorted union of two series where `newer` wins on equal timestamps (Gnocchi's `merge`): how
 * stored split points and freshly computed buckets combine.
 */
export function mergePoints(older: Points, newer: Points): Points {
  const length = mergeInto(older, 0, older.timestamps.length, newer, 0, newer.timestamps.length, mergeBuffer);
  return {
    timestamps: mergeBuffer.timestamps.slice(0, length),
    values: mergeBuffer.values.slice(0, length),
  };
}

/**
 * Merges older[olderFrom, olderTo) with newer[newerFrom, newerTo) (newer wins) into `out` from
 * index 0; returns the merged length.
 */
export function mergeInto(
  older: Points,
  olderFrom: number,
  olderTo: number,
  newer: Points,
  newerFrom: number,
  newerTo: number,
  out: PointsBuffer,
): number {
  out.reserve(olderTo - olderFrom + newerTo - newerFrom);
  const outTimes = out.timestamps;
  const outValues = out.values;
  const olderTimes = older.timestamps;
  const newerTimes = newer.timestamps;
  let i = olderFrom;
  let j = newerFrom;
  let k = 0;
  while (i < olderTo && j < newerTo) {
    const olderTs = olderTimes[i] as number;
    const newerTs = newerTimes[j] as number;
    if (olderTs < newerTs) {
      outTimes[k] = olderTs;
      outValues[k++] = older.values[i++] as number;
    } else {
      if (olderTs === newerTs) i++;
      outTimes[k] = newerTs;
      outValues[k++] = newer.values[j++] as number;
    }
  }
  while (i < olderTo) {
    outTimes[k] = olderTimes[i] as number;
    outValues[k++] = older.values[i++] as number;
  }
  while (j < newerTo) {
    outTimes[k] = newerTimes[j] as number;
    outValues[k++] = newer.values[j++] as number;
  }
  return k;
}

/**
 * Validates a batch of measures and writes it sorted by time into `out[0, n)`; returns n. Of
 * duplicate timestamps the smallest value is kept, as in Gnocchi: its
 * `numpy.sort(measures, order='timestamps')` breaks ties on the value field, then
 * `combine_timeseries` keeps the first of each timestamp. Copying into a reused buffer is cheaper than allocating typed arrays
 * per batch, even when the batch is already sorted (the common case).
 */
export function normalizeBatch(
  timestamps: ArrayLike<number>,
  values: ArrayLike<number>,
  out: PointsBuffer,
): number {
  const length = timestamps.length;
  if (values.length !== length) {
    throw carbonaraErrors('CARBONARA_INVALID_MEASURE', `${length} timestamps but ${values.length} values`);
  }
  let sorted = true;
  for (let index = 0; index < length; index++) {
    const ts = timestamps[index] as number;
    if (!Number.isSafeInteger(ts) || ts < 0) {
      throw carbonaraErrors(
        'CARBONARA_INVALID_MEASURE',
        `timestamp ${ts} is not a whole number of microseconds after the epoch`,
      );
    }
    if (index > 0 && ts <= (timestamps[index - 1] as number)) sorted = false;
  }
  const { timestamps: outTimes, values: outValues } = out.reserve(length);
  if (sorted) {
    for (let index = 0; index < length; index++) {
      outTimes[index] = timestamps[index] as number;
      outValues[index] = values[index] as number;
    }
    return length;
  }
  const order = Array.from({ length }, (_, index) => index);
  order.sort(
    (a, b) =>
      (timestamps[a] as number) - (timestamps[b] as number) ||
      byValue(values[a] as number, values[b] as number),
  );
  let count = 0;
  for (const index of order) {
    const ts = timestamps[index] as number;
    if (count > 0 && outTimes[count - 1] === ts) continue;
    outTimes[count] = ts;
    outValues[count++] = values[index] as number;
  }
  return count;
}

/** numpy's order: ascending, NaN last. */
function byValue(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  return Number.isNaN(b) ? -1 : a - b;
}
