import { partitionFor } from '@granary/kafka';
import { cliErrors } from './errors.ts';
import type { PartitionBounds, PartitionRange } from './kafka-tools.ts';

/** What part of a topic to read; every bound is optional and they combine (intersection). */
export interface RangeSelection {
  partitions?: readonly number[];
  /** Only the partitions these keys are routed to (Java murmur2, as every producer). */
  keys?: readonly string[];
  /** First offset to read, in every selected partition. */
  startOffset?: bigint;
  /** Offset to stop before, in every selected partition. */
  endOffset?: bigint;
  /** Per partition, the first offset at or after the start time. */
  startAtTime?: ReadonlyMap<number, string>;
  /** Per partition, the first offset at or after the end time (excluded). */
  endAtTime?: ReadonlyMap<number, string>;
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/**
 * The offset range to read in each selected partition: the partition's retained records narrowed
 * by every bound given. A range may be empty (start = end) when nothing matches.
 */
export function resolveRanges(
  bounds: readonly PartitionBounds[],
  selection: RangeSelection,
): PartitionRange[] {
  const count = bounds.length;
  for (const partition of selection.partitions ?? []) {
    if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
      throw cliErrors(
        'CLI_USAGE',
        `partition ${partition} does not exist (the topic has ${count}: 0-${count - 1})`,
      );
    }
  }
  const wanted = new Set(selection.partitions ?? bounds.map((b) => b.partition));
  if (selection.keys?.length) {
    const keyed = new Set(selection.keys.map((key) => partitionFor(key, count)));
    for (const partition of wanted) if (!keyed.has(partition)) wanted.delete(partition);
  }
  return bounds
    .filter((b) => wanted.has(b.partition))
    .map(({ partition, low, high }) => {
      let start = max(BigInt(low), selection.startOffset ?? 0n);
      let end = min(BigInt(high), selection.endOffset ?? BigInt(high));
      const fromTime = selection.startAtTime?.get(partition);
      if (fromTime !== undefined) start = max(start, BigInt(fromTime));
      const untilTime = selection.endAtTime?.get(partition);
      if (untilTime !== undefined) end = min(end, BigInt(untilTime));
      return { partition, start: start.toString(), end: max(start, end).toString() };
    });
}

/** How many records the ranges hold (what a progress bar counts towards). */
export function rangeSize(ranges: readonly PartitionRange[]): number {
  return ranges.reduce((sum, r) => sum + Number(BigInt(r.end) - BigInt(r.start)), 0);
}
