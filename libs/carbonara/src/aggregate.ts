import { carbonaraErrors } from './errors.ts';
import { type ParsedMethod, parseMethod } from './methods.ts';
import type { Points } from './points.ts';
import {
  CALENDAR_UNITS,
  type Granularity,
  floorTimestamp,
  floorToCalendar,
  nextCalendarStart,
} from './time.ts';

/** Buckets of a timestamp array: bucket k holds indices [bounds[k], bounds[k+1]), stamped `stamps[k]`. */
export interface Grouping {
  readonly count: number;
  readonly bounds: Int32Array;
  readonly stamps: Float64Array;
}

let groupingScratch = { bounds: new Int32Array(64), stamps: new Float64Array(64) };

/** Groups timestamps into buckets; the result is only valid until the next call. */
export function groupByBucket(timestamps: Float64Array, granularity: Granularity): Grouping {
  const length = timestamps.length;
  if (groupingScratch.stamps.length < length) {
    groupingScratch = { bounds: new Int32Array(length * 2 + 1), stamps: new Float64Array(length * 2) };
  }
  const { bounds, stamps } = groupingScratch;
  let count = 0;
  let bucketEnd = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < length; index++) {
    const ts = timestamps[index] as number;
    if (ts < bucketEnd) continue;
    const start = bucketStart(ts, granularity);
    bounds[count] = index;
    stamps[count++] = start;
    bucketEnd = typeof granularity === 'number' ? start + granularity : nextCalendarStart(start, granularity);
  }
  bounds[count] = length;
  return { count, bounds, stamps };
}

function bucketStart(ts: number, granularity: Granularity): number {
  return typeof granularity === 'number' ? floorTimestamp(ts, granularity) : floorToCalendar(ts, granularity);
}

let sortScratch = new Float64Array(64);

/** Sort order of numpy (and of typed-array sort): NaN after every number. */
function sortsAfter(a: number, b: number): boolean {
  return a > b || (Number.isNaN(a) && !Number.isNaN(b));
}

// Sorted copy of values[from, to) in sortScratch[0, to-from).
function sortedCopy(values: Float64Array, from: number, to: number): Float64Array {
  const length = to - from;
  if (sortScratch.length < length) sortScratch = new Float64Array(length * 2);
  const sorted = sortScratch;
  if (length <= 32) {
    for (let index = 0; index < length; index++) {
      const value = values[from + index] as number;
      let slot = index;
      while (slot > 0 && sortsAfter(sorted[slot - 1] as number, value)) {
        sorted[slot] = sorted[slot - 1] as number;
        slot--;
      }
      sorted[slot] = value;
    }
  } else {
    sorted.set(values.subarray(from, to));
    sorted.subarray(0, length).sort();
  }
  return sorted;
}

/**
 * Reduces every bucket of `grouping` over `values` (aligned with the grouped timestamps) into
 * out[0, n); returns n. The arithmetic mirrors Gnocchi's numpy code so results match to the bit:
 * sums accumulate in time order from 0, std is sqrt(Σ(v-mean)²/(n-1)) and skips single-point
 * buckets, percentiles interpolate at positions counted from the first grouped point (numpy
 * computes them on the whole grouped array, and the rounding of the fraction depends on it).
 * NaN behaves as in Gnocchi, whose min/max read the ends of a NaN-last argsort: `max` is NaN if
 * any value is, `min` ignores NaN unless every value is NaN.
 */
export function reduceGroups(
  values: Float64Array,
  grouping: Grouping,
  method: ParsedMethod,
  outTimes: Float64Array,
  outValues: Float64Array,
): number {
  const { count, bounds, stamps } = grouping;
  let written = 0;
  for (let bucket = 0; bucket < count; bucket++) {
    const from = bounds[bucket] as number;
    const to = bounds[bucket + 1] as number;
    const size = to - from;
    let result: number;
    switch (method.reducer) {
      case 'first':
        result = values[from] as number;
        break;
      case 'last':
        result = values[to - 1] as number;
        break;
      case 'count':
        result = size;
        break;
      case 'sum':
      case 'mean': {
        let sum = 0;
        for (let index = from; index < to; index++) sum += values[index] as number;
        result = method.reducer === 'sum' ? sum : sum / size;
        break;
      }
      case 'min': {
        result = values[from] as number;
        for (let index = from + 1; index < to; index++) {
          const value = values[index] as number;
          if (sortsAfter(result, value)) result = value;
        }
        break;
      }
      case 'max': {
        result = values[from] as number;
        for (let index = from + 1; index < to; index++) {
          const value = values[index] as number;
          if (sortsAfter(value, result)) result = value;
        }
        break;
      }
      case 'std': {
        if (size < 2) continue;
        let sum = 0;
        for (let index = from; index < to; index++) sum += values[index] as number;
        const mean = sum / size;
        let squares = 0;
        for (let index = from; index < to; index++) {
          const deviation = (values[index] as number) - mean;
          squares += deviation * deviation;
        }
        result = Math.sqrt(squares / (size - 1));
        break;
      }
      case 'median': {
        const sorted = sortedCopy(values, from, to);
        const lowMiddle = (size - 1 - (size >> 1)) | 0;
        const highMiddle = lowMiddle + ((size & 1) === 0 ? 1 : 0);
        result = ((sorted[lowMiddle] as number) + (sorted[highMiddle] as number)) / 2;
        break;
      }
      case 'percentile': {
        const sorted = sortedCopy(values, from, to);
        const minPosition = from;
        const position = minPosition + (size - 1) * (method.percentile / 100);
        const floorPosition = Math.floor(position);
        const ceilPosition = Math.ceil(position);
        const low = sorted[floorPosition - minPosition] as number;
        result =
          floorPosition === ceilPosition
            ? low
            : low * (ceilPosition - position) +
              (sorted[ceilPosition - minPosition] as number) * (position - floorPosition);
        break;
      }
    }
    outTimes[written] = stamps[bucket] as number;
    outValues[written++] = result;
  }
  return written;
}

/** Deltas v[i] - v[i-1] for i in [first, end), stamped at t[i]: the series `rate:*` methods reduce. */
export function derivedValues(values: Float64Array, first: number, end: number): Float64Array {
  const deltas = new Float64Array(end - first);
  for (let index = first; index < end; index++) {
    deltas[index - first] = (values[index] as number) - (values[index - 1] as number);
  }
  return deltas;
}

function assertGranularity(granularity: Granularity): void {
  const valid =
    typeof granularity === 'number'
      ? Number.isSafeInteger(granularity) && granularity > 0
      : CALENDAR_UNITS.includes(granularity);
  if (!valid) {
    throw carbonaraErrors('CARBONARA_INVALID_ARGUMENT', `granularity ${String(granularity)} is not valid`);
  }
}

/**
 * Groups a whole series into buckets of `granularity` (µs, or a calendar unit) and reduces each
 * with `method`: Gnocchi's aggregation of raw points, and its `resample` of aggregated ones.
 * `rate:*` methods reduce the deltas between consecutive points and need a fixed granularity.
 */
export function resample(points: Points, granularity: Granularity, method: string): Points {
  assertGranularity(granularity);
  const parsed = parseMethod(method);
  let { timestamps, values } = points;
  if (parsed.rate) {
    if (typeof granularity !== 'number') {
      throw carbonaraErrors('CARBONARA_INVALID_ARGUMENT', `${method} cannot use a calendar granularity`);
    }
    const first = Math.min(1, timestamps.length);
    values = derivedValues(values, first, timestamps.length);
    timestamps = timestamps.subarray(first);
  }
  const grouping = groupByBucket(timestamps, granularity);
  const outTimes = new Float64Array(grouping.count);
  const outValues = new Float64Array(grouping.count);
  const length = reduceGroups(values, grouping, parsed, outTimes, outValues);
  return { timestamps: outTimes.subarray(0, length), values: outValues.subarray(0, length) };
}
