import { type Points, PointsBuffer, lowerBound, mergeInto } from './points.ts';

/** Smallest capacity a column grows to: most aggregations of a live metric hold one or two buckets. */
const MIN_CAPACITY = 2;
const EMPTY_STORE = new Float64Array(0);
const mergeBuffer = new PointsBuffer();

// A column's four slots in `layout`.
const START = 0;
const CAPACITY = 1;
const HEAD = 2;
const END = 3;
const SLOTS = 4;

/**
 * One metric's sorted (time, value) series, its raw tail and every aggregation, in ONE
 * Float64Array. A typed array costs about 0.5 KB of RSS beyond its contents (buffer object,
 * backing store and their native bookkeeping), which made a `medium` metric holding one per series
 * cost 15 KB (apps/processor/bench-memory.ts). Column k owns store[start, start + 2 × capacity):
 * its times, then its values at the same index + capacity; its live points sit in [head, end), so
 * the oldest are dropped in O(1). Indexes in the methods are relative to the live points.
 *
 * Views handed out (`view`) are valid until the next change, except after `repack`: the store
 * they point into is then never written again.
 */
export class ColumnSet {
  private store = EMPTY_STORE;
  /** Per column: start, capacity, head, end. Small integers in a plain array: no object per column. */
  private readonly layout: number[];

  constructor(columns: number) {
    this.layout = new Array<number>(columns * SLOTS).fill(0);
  }

  length(column: number): number {
    const at = column * SLOTS;
    return (this.layout[at + END] as number) - (this.layout[at + HEAD] as number);
  }

  /** Time of the live point at `index` (undefined when out of range). */
  timeAt(column: number, index: number): number | undefined {
    const at = column * SLOTS;
    const position = (this.layout[at + HEAD] as number) + index;
    return position < (this.layout[at + END] as number) ? this.store[position] : undefined;
  }

  lastTime(column: number): number | undefined {
    return this.timeAt(column, this.length(column) - 1);
  }

  /** First live index whose time is >= target (the length if none). */
  lowerBound(column: number, target: number, from = 0): number {
    const at = column * SLOTS;
    const head = this.layout[at + HEAD] as number;
    return lowerBound(this.store, target, head + from, this.layout[at + END] as number) - head;
  }

  /** Live points [from, to) as views of the store. */
  view(column: number, from = 0, to = this.length(column)): Points {
    const at = column * SLOTS;
    const head = this.layout[at + HEAD] as number;
    const capacity = this.layout[at + CAPACITY] as number;
    return {
      timestamps: this.store.subarray(head + from, head + to),
      values: this.store.subarray(head + capacity + from, head + capacity + to),
    };
  }

  dropBefore(column: number, index: number): void {
    this.layout[column * SLOTS + HEAD] = (this.layout[column * SLOTS + HEAD] as number) + index;
  }

  clear(column: number): void {
    const at = column * SLOTS;
    this.layout[at + HEAD] = this.layout[at + START] as number;
    this.layout[at + END] = this.layout[at + START] as number;
  }

  /**
   * Makes room for `room[k]` more points in each column k with one allocation at most (a metric's
   * aggregations grow together). A merge of n incoming points never needs more than n.
   */
  reserve(room: readonly number[]): void {
    let grow = false;
    for (let column = 0; column < room.length; column++) {
      if (this.needsGrowth(column, room[column] as number)) grow = true;
    }
    if (grow) {
      this.reallocate((column, live) =>
        this.needsGrowth(column, room[column] as number)
          ? Math.max(MIN_CAPACITY, (live + (room[column] as number)) * 2)
          : (this.layout[column * SLOTS + CAPACITY] as number),
      );
    }
    for (let column = 0; column < room.length; column++) this.makeRoom(column, room[column] as number);
  }

  /**
   * Moves the live points into a new store with each column's capacity at twice its points: memory
   * back after `clear`s and drops, and the old store, with every view handed out, stays as it is.
   */
  repack(): void {
    this.reallocate((_, live) => (live === 0 ? 0 : Math.max(MIN_CAPACITY, live * 2)));
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
    const live = end - head;
    const merged = mergeInto(this.view(column), start, live, incoming, from, to, mergeBuffer);
    store.set(mergeBuffer.timestamps.subarray(0, merged), head + start);
    store.set(mergeBuffer.values.subarray(0, merged), head + start + capacity);
    layout[at + END] = head + start + merged;
  }

  /** True when `extra` more points fit neither after the live ones nor after moving them to the start. */
  private needsGrowth(column: number, extra: number): boolean {
    const at = column * SLOTS;
    const capacity = this.layout[at + CAPACITY] as number;
    const fitsAfter =
      (this.layout[at + END] as number) + extra <= (this.layout[at + START] as number) + capacity;
    // Moving is taken only while half the column stays free, so moves cost O(1) per point.
    return !fitsAfter && (this.length(column) + extra) * 2 > capacity;
  }

  private makeRoom(column: number, extra: number): void {
    if (this.needsGrowth(column, extra)) {
      this.reallocate((other, live) =>
        other === column
          ? Math.max(MIN_CAPACITY, (live + extra) * 2)
          : (this.layout[other * SLOTS + CAPACITY] as number),
      );
      return;
    }
    const at = column * SLOTS;
    const start = this.layout[at + START] as number;
    const head = this.layout[at + HEAD] as number;
    const end = this.layout[at + END] as number;
    if (end + extra <= start + (this.layout[at + CAPACITY] as number)) return;
    const capacity = this.layout[at + CAPACITY] as number;
    this.store.copyWithin(start, head, end);
    this.store.copyWithin(start + capacity, head + capacity, end + capacity);
    this.layout[at + HEAD] = start;
    this.layout[at + END] = start + end - head;
  }

  /** A new store with `capacityOf(column, live points)` per column, live points copied to each start. */
  private reallocate(capacityOf: (column: number, live: number) => number): void {
    const { layout } = this;
    const columns = layout.length / SLOTS;
    const capacities = new Array<number>(columns);
    let total = 0;
    for (let column = 0; column < columns; column++) {
      const capacity = capacityOf(column, this.length(column));
      capacities[column] = capacity;
      total += 2 * capacity;
    }
    const old = this.store;
    const store = total === 0 ? EMPTY_STORE : new Float64Array(total);
    let start = 0;
    for (let column = 0; column < columns; column++) {
      const at = column * SLOTS;
      const head = layout[at + HEAD] as number;
      const live = (layout[at + END] as number) - head;
      const oldCapacity = layout[at + CAPACITY] as number;
      const capacity = capacities[column] as number;
      if (live > 0) {
        store.set(old.subarray(head, head + live), start);
        store.set(old.subarray(head + oldCapacity, head + oldCapacity + live), start + capacity);
      }
      layout[at + START] = start;
      layout[at + CAPACITY] = capacity;
      layout[at + HEAD] = start;
      layout[at + END] = start + live;
      start += 2 * capacity;
    }
    this.store = store;
  }
}
