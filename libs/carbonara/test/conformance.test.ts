import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MetricSeries, type Points, createArchivePolicy, resample } from '../index.ts';
import { isoToMicros } from './helpers.ts';

interface Vector {
  name: string;
  input: [string, number][];
  granularity_s: number;
  aggregation: string;
  expected: [string, number, number][];
  back_window?: number;
  block_size_s?: number;
  batches?: [string, number][][];
  expected_after_batch?: [string, number, number][][];
}

// Read from the shared checkout at test time; the vectors are never copied into the project.
const vectors: Vector[] = JSON.parse(
  readFileSync(new URL('../../../../shared/conformance/carbonara_vectors.json', import.meta.url), 'utf8'),
);

function toPoints(measures: [string, number][]): { timestamps: number[]; values: number[] } {
  return {
    timestamps: measures.map(([iso]) => isoToMicros(iso)),
    values: measures.map(([, value]) => value),
  };
}

function expectedPoints(expected: [string, number, number][]): [number, number][] {
  return expected.map(([iso, , value]) => [isoToMicros(iso), value]);
}

function pairs(points: Points): [number, number][] {
  return Array.from(points.timestamps, (ts, index) => [ts, points.values[index] as number]);
}

describe('Gnocchi carbonara conformance vectors', () => {
  it('has all 20 vectors', () => {
    expect(vectors).toHaveLength(20);
  });

  for (const vector of vectors) {
    const granularity = Math.round(vector.granularity_s * 1e6);
    it(vector.name, () => {
      if (!vector.batches) {
        const { timestamps, values } = toPoints(vector.input);
        const points = { timestamps: Float64Array.from(timestamps), values: Float64Array.from(values) };
        expect(pairs(resample(points, granularity, vector.aggregation))).toEqual(
          expectedPoints(vector.expected),
        );
        return;
      }
      expect(Math.round((vector.block_size_s ?? 0) * 1e6)).toBe(granularity);
      const policy = createArchivePolicy({
        name: vector.name,
        backWindow: vector.back_window ?? 0,
        definition: [{ granularity }],
        aggregationMethods: [vector.aggregation],
      });
      const series = new MetricSeries(policy);
      vector.batches.forEach((batch, index) => {
        const { timestamps, values } = toPoints(batch);
        series.apply(timestamps, values);
        const afterBatch = vector.expected_after_batch?.[index];
        if (afterBatch) {
          expect(pairs(series.points(vector.aggregation, granularity))).toEqual(expectedPoints(afterBatch));
        }
      });
      expect(pairs(series.points(vector.aggregation, granularity))).toEqual(expectedPoints(vector.expected));
    });
  }
});
