import { type Points, PointsBuffer, lowerBound, mergeInto } from './points.ts';

/** Smallest capacity a column grows to: most aggregations of a live metric hold one or two buckets. */
const MIN_CAPACITY = 2;
const EMPTY_STORE = new Float64Array(0);
const mergeBuffer = new PointsBuffer();
/** Per column, the capacities `reallocate` computes before it moves anything. */
const capacities: number[] = [];

// A column's four slots in `layout`.
const START = 0;
const CAPACITY = 1;
const HEAD = 2;
const END = 3;
const SLOTS = 4;

/** Capacity for `needed` points: half as much again, so n appended points cost O(n) copying. */
const grownCapacity = (needed: number) => Math.max(MIN_CAPACITY, Math.ceil(needed * 1.5));

/**
 * One metric's sorted (time, value) series, its raw tail and every aggregation, in ONE
 * Float64Array. A typed array costs about 0.5 KB of RSS beyond its contents (buffer object,
 * backing store and their native bookkeeping), which made a `medium` metric holding one per series
 * cost 15 KB (apps/processor/bench-memory.ts). Column k owns store[start, start + 2 × capacity):
 * its times, then its values at the same index + capacity; its live points sit in [head, end), so
 * the oldest are dropped in O(1). Indexes in the methods are relative to the live points.
 *
 * `layout` only reaches the last column that has room: a metric between checkpoints holds no
 * aggregation, and 4 slots per empty column would be a third of what it holds.
 *
 * Views handed out (`view`) are valid until the next change of the set; `repacked` is no change:
 * it leaves this set, and its views, as they are.
 */
export class ColumnSet {
  private store = EMPTY_STORE;
  /** Per column: start, capacity, head, end. Small integers in a plain array: no object per column. */
  private layout: number[] = [];

  length(column: number): number {
    const at = column * SLOTS;
    if (at >= this.layout.length) return 0;
    return (this.layout[at + END] as number) - (this.layout[at + HEAD] as number);
  }

  /** Time of the live point at `index`, which must be below the length. */
  timeAt(column: number, index: number): number {
    return this.store[(this.layout[column * SLOTS + HEAD] as number) + index] as number;
  }

  /** Time of the last live point (undefined when there is none). */
  lastTime(column: number): number | undefined {
    const length = this.length(column);
    return length === 0 ? undefined : this.timeAt(column, length - 1);
  }

  /** First live index whose time is >= target (the length if none). */
  lowerBound(column: number, target: number): number {
    if (this.length(column) === 0) return 0;
    const at = column * SLOTS;
    const head = this.layout[at + HEAD] as number;
    return lowerBound(this.store, target, head, this.layout[at + END] as number) - head;
  }

  /** Live points [from, to) as views of the store. */
  view(column: number, from = 0, to = this.length(column)): Points {
    if (to <= from) return { timestamps: EMPTY_STORE, values: EMPTY_STORE };
    const at = column * SLOTS;
    const head = this.layout[at + HEAD] as number;
    const capacity = this.layout[at + CAPACITY] as number;
    return {
      timestamps: this.store.subarray(head + from, head + to),
      values: this.store.subarray(head + capacity + from, head + capacity + to),
    };
  }

  dropBefore(column: number, index: number): void {
    if (index === 0) return;
    this.layout[column * SLOTS + HEAD] = (this.layout[column * SLOTS + HEAD] as number) + index;
  }

  /**
   * Makes room for `room[k]` more points in each column k with one allocation at most (a metric's
   * raw tail and aggregations grow together). A merge of n incoming points never needs more than n.
   */
  reserve(room: readonly number[]): void {
    let columns = 0;
    for (let column = 0; column < room.length; column++) {
      if (this.needsGrowth(column, room[column] as number)) columns = column + 1;
    }
    if (columns > 0) {
      this.reallocate(Math.max(columns, this.layout.length / SLOTS), (column, live, capacity) =>
        this.needsGrowth(column, room[column] ?? 0)
          ? grownCapacity(live + (room[column] as number))
          : capacity,
      );
    }
    for (let column = 0; column < room.length; column++) this.makeRoom(column, room[column] as number);
  }

  /**
   * A new set holding the live points of the first `columns` columns, each sized to them, and no
   * other column. This set, with every view handed out, stays as it is.
   */
  repacked(columns: number): ColumnSet {
    let kept = 0;
    for (let column = 0; column < Math.min(columns, this.layout.length / SLOTS); column++) {
      if (this.length(column) > 0) kept = column + 1;
    }
    const copy = new ColumnSet();
    // reallocate reads the current store and layout and replaces them, so the copy starts on ours
    // (and must not rewrite our layout in place).
    copy.store = this.store;
    copy.layout = this.layout;
    copy.reallocate(kept, (_, live) => live, false);
    return copy;
  }

  /** Merges `incoming[from, to)` (sorted, new wins) over the live points of `column`. */
  merge(column: number, incoming: Points, from: number, to: number): void {
    if (from >= to) return;
    this.makeRoom(column, to - from);
    const at = column * SLOTS;
    const { store, layout } = this;
    const head = layout[at + HEAD] as number;
    const end = layout[at + END] as number;
    const capacity = layout[at + CAPACITY] as number;
    const first = incoming.timestamps[from] as number;
    if (end === head || first >= (store[end - 1] as number)) {
      // The common case: new measures, and recomputed buckets, start at or after the last live
      // point. Replace that point if it is the first incoming one, then append element by element
      // (no views allocated, which per batch cost more than the copying).
      let position = end > head && first === store[end - 1] ? end - 1 : end;
      for (let index = from; index < to; index++) {
        store[position] = incoming.timestamps[index] as number;
        store[position++ + capacity] = incoming.values[index] as number;
      }
      layout[at + END] = position;
      return;
    }
    const start = this.lowerBound(column, first);
    const merged = mergeInto(this.view(column), start, end - head, incoming, from, to, mergeBuffer);
    store.set(mergeBuffer.timestamps.subarray(0, merged), head + start);
    store.set(mergeBuffer.values.subarray(0, merged), head + start + capacity);
    layout[at + END] = head + start + merged;
  }

  /** True when `extra` more points fit neither after the live ones nor after moving them to the start. */
  private needsGrowth(column: number, extra: number): boolean {
    if (extra === 0) return false;
    const at = column * SLOTS;
    if (at >= this.layout.length) return true;
    const capacity = this.layout[at + CAPACITY] as number;
    const fitsAfter =
      (this.layout[at + END] as number) + extra <= (this.layout[at + START] as number) + capacity;
    // Moving is taken only while a third of the column stays free, so moves cost O(1) per point.
    return !fitsAfter && (this.length(column) + extra) * 3 > capacity * 2;
  }

  private makeRoom(column: number, extra: number): void {
    if (this.needsGrowth(column, extra)) {
      this.reallocate(Math.max(column + 1, this.layout.length / SLOTS), (other, live, capacity) =>
        other === column ? grownCapacity(live + extra) : capacity,
      );
      return;
    }
    if (extra === 0) return;
    const at = column * SLOTS;
    const start = this.layout[at + START] as number;
    const head = this.layout[at + HEAD] as number;
    const end = this.layout[at + END] as number;
    const capacity = this.layout[at + CAPACITY] as number;
    if (end + extra <= start + capacity) return;
    this.store.copyWithin(start, head, end);
    this.store.copyWithin(start + capacity, head + capacity, end + capacity);
    this.layout[at + HEAD] = start;
    this.layout[at + END] = start + end - head;
  }

  /**
   * A new store for `columns` columns, each with `capacityOf(column, live points, current
   * capacity)`, live points copied to each start. The layout array is rewritten in place when the
   * number of columns stays (unless `inPlace` is false): a metric is long-lived, so each array
   * replaced is old-generation garbage (1,000,000 metrics: hundreds of MB of it, and the heap grew
   * by as much).
   */
  private reallocate(
    columns: number,
    capacityOf: (column: number, live: number, capacity: number) => number,
    inPlace = true,
  ): void {
    const old = this.layout;
    const oldColumns = old.length / SLOTS;
    let total = 0;
    for (let column = 0; column < columns; column++) {
      const current = column < oldColumns ? (old[column * SLOTS + CAPACITY] as number) : 0;
      const capacity = capacityOf(column, this.length(column), current);
      capacities[column] = capacity;
      total += 2 * capacity;
    }
    const store = total === 0 ? EMPTY_STORE : new Float64Array(total);
    const layout = inPlace && columns === oldColumns ? old : new Array<number>(columns * SLOTS);
    let start = 0;
    for (let column = 0; column < columns; column++) {
      const at = column * SLOTS;
      const capacity = capacities[column] as number;
      const live = column < oldColumns ? this.length(column) : 0;
      if (live > 0) {
        // Element by element: columns hold a few points, and two views per column to `set` from
        // cost more than the copying (reallocations are most of an apply's allocations).
        const head = old[at + HEAD] as number;
        const oldValues = head + (old[at + CAPACITY] as number);
        const from = this.store;
        for (let index = 0; index < live; index++) {
          store[start + index] = from[head + index] as number;
          store[start + capacity + index] = from[oldValues + index] as number;
        }
      }
      layout[at + START] = start;
      layout[at + CAPACITY] = capacity;
      layout[at + HEAD] = start;
      layout[at + END] = start + live;
      start += 2 * capacity;
    }
    this.store = store;
    this.layout = layout;
  }
}
