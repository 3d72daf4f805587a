import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MetricSeries, createArchivePolicy } from '../index.ts';

interface GnocchiCase {
  policy: {
    backWindow: number;
    definition: { granularity: number; timespan: number | null }[];
    methods: string[];
  };
  batches: [number, number][][];
  expected: { method: string; granularity: number; points: [number, number][] }[];
}

// Outputs of Gnocchi 4.7.1's own carbonara.py on random policies and batches (fixtures/make-gnocchi-cases.py).
const cases: GnocchiCase[] = JSON.parse(
  readFileSync(new URL('./fixtures/gnocchi-cases.json', import.meta.url), 'utf8'),
);

describe("MetricSeries against Gnocchi 4.7.1's carbonara", () => {
  cases.forEach(({ policy, batches, expected }, index) => {
    it(`case ${index}: ${policy.methods.join(',')} at ${policy.definition.map((item) => item.granularity / 1e6).join(',')} s`, () => {
      const series = new MetricSeries(
        createArchivePolicy({
          name: `case-${index}`,
          backWindow: policy.backWindow,
          definition: policy.definition.map(({ granularity, timespan }) => ({
            granularity,
            timespan: timespan ?? undefined,
          })),
          aggregationMethods: policy.methods,
        }),
      );
      for (const batch of batches) {
        const result = series.apply(
          batch.map(([ts]) => ts),
          batch.map(([, value]) => value),
        );
        expect(result).toMatchObject({ accepted: batch.length, droppedTooOld: 0 });
      }
      for (const { method, granularity, points } of expected) {
        const actual = series.points(method, granularity);
        expect(Array.from(actual.timestamps, (ts, at) => [ts, actual.values[at]])).toEqual(points);
      }
    });
  });
});
