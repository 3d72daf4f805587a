import type { MeasureBatch } from '@granary/schema';

const START_US = 1_763_700_000_000_000;
const STEP_US = 10_000_000;

/** Stable metric ids (UUID text from the index). */
export function generateMetricIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => {
    const hex = index.toString(16).padStart(12, '0');
    return `6a1d0000-0000-4000-8000-${hex}`;
  });
}

/** Round `round` of the benchmark stream: one batch of `measures` consecutive measures per metric. */
export function roundOf(ids: readonly string[], round: number, measures: number): MeasureBatch[] {
  return ids.map((metric_id, metric) => {
    const timestamps: number[] = [];
    const values: number[] = [];
    for (let index = 0; index < measures; index++) {
      timestamps.push(START_US + (round * measures + index) * STEP_US);
      values.push(((metric * 31 + round * measures + index) % 1000) / 10);
    }
    return { metric_id, timestamps, values };
  });
}
