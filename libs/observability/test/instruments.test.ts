import { defineErrors } from '@granary/errors';
import { describe, expect, it } from 'vitest';
import { createRegistry, noInstruments, prometheusInstruments, timedOutcome } from '../index.ts';

describe('prometheusInstruments', () => {
  it('exports counters, gauges and histograms with their names, help, labels and buckets', async () => {
    const registry = createRegistry('test');
    const instruments = prometheusInstruments(registry);
    const letters = instruments.counter({
      name: 'granary_test_dead_letters_total',
      help: 'Dead letters, by code',
      labelNames: ['code'],
    });
    letters.inc({ code: 'SCHEMA_CORRUPT_RECORD' });
    letters.inc({ code: 'TELEMETRY_TOO_DEEP' }, 2);
    const applied = instruments.counter({ name: 'granary_test_applied_total', help: 'Applied' });
    applied.inc();
    applied.inc(4);
    instruments
      .gauge({ name: 'granary_test_lag', help: 'Lag', labelNames: ['partition'] })
      .set({ partition: 3 }, 7);
    instruments.gauge({ name: 'granary_test_held', help: 'Held' }).set(12);
    const durations = instruments.histogram({
      name: 'granary_test_seconds',
      help: 'Durations',
      buckets: [0.1, 1],
    });
    durations.observe(0.05);
    durations.observe(0.5);

    const text = await registry.metrics();
    expect(text).toContain(
      '# HELP granary_test_dead_letters_total Dead letters, by code\n# TYPE granary_test_dead_letters_total counter',
    );
    expect(text).toContain('granary_test_dead_letters_total{code="SCHEMA_CORRUPT_RECORD",app="test"} 1');
    expect(text).toContain('granary_test_dead_letters_total{code="TELEMETRY_TOO_DEEP",app="test"} 2');
    expect(text).toContain('granary_test_applied_total{app="test"} 5');
    expect(text).toContain('granary_test_lag{partition="3",app="test"} 7');
    expect(text).toContain('granary_test_held{app="test"} 12');
    expect(text).toContain('granary_test_seconds_bucket{le="0.1",app="test"} 1');
    expect(text).toContain('granary_test_seconds_bucket{le="1",app="test"} 2');
    expect(text).toContain('granary_test_seconds_bucket{le="+Inf",app="test"} 2');
    expect(text).toContain('granary_test_seconds_count{app="test"} 2');
    expect(text).toContain('granary_process_resident_memory_bytes');
  });

  it('reads a gauge with a collect function at every scrape', async () => {
    const registry = createRegistry('test');
    let held = 1;
    prometheusInstruments(registry).gauge({
      name: 'granary_test_ratio',
      help: 'Ratio',
      collect: async () => held,
    });
    expect(await registry.metrics()).toContain('granary_test_ratio{app="test"} 1');
    held = 0.25;
    expect(await registry.metrics()).toContain('granary_test_ratio{app="test"} 0.25');
  });

  it("reads a counter's totals back by label values", async () => {
    const letters = prometheusInstruments(createRegistry('test')).counter({
      name: 'granary_test_letters_total',
      help: 'Letters',
      labelNames: ['code'],
    });
    letters.inc({ code: 'A' }, 2);
    letters.inc({ code: 'B' });
    letters.inc({ code: 'A' });
    expect(await letters.readings()).toEqual([
      { labels: { code: 'A' }, value: 3 },
      { labels: { code: 'B' }, value: 1 },
    ]);
  });

  it('refuses a name declared twice on one registry', () => {
    const instruments = prometheusInstruments(createRegistry('test'));
    instruments.counter({ name: 'granary_test_once_total', help: 'Once' });
    expect(() => instruments.gauge({ name: 'granary_test_once_total', help: 'Again' })).toThrow(/already/);
  });
});

describe('noInstruments', () => {
  it('takes every call and records nothing', async () => {
    const counter = noInstruments.counter({
      name: 'granary_test_total',
      help: 'Nothing',
      labelNames: ['code'],
    });
    counter.inc({ code: 'A' }, 3);
    noInstruments.gauge({ name: 'granary_test_gauge', help: 'Nothing' }).set(1);
    noInstruments.histogram({ name: 'granary_test_seconds', help: 'Nothing', buckets: [1] }).observe(2);
    expect(await counter.readings()).toEqual([]);
  });
});

describe('timedOutcome', () => {
  const settledOf = () => {
    const settled: Array<{ outcome: string; seconds: number }> = [];
    return { settled, record: (outcome: string, seconds: number) => void settled.push({ outcome, seconds }) };
  };

  it('reports ok with the time the work took, and returns its answer', async () => {
    const { settled, record } = settledOf();
    const answer = await timedOutcome(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return 'answer';
    }, record);
    expect(answer).toBe('answer');
    expect(settled).toHaveLength(1);
    expect(settled[0]!.outcome).toBe('ok');
    expect(settled[0]!.seconds).toBeGreaterThanOrEqual(0.015);
  });

  it("reports a failure by its error code ('unexpected' without one) and rethrows it unchanged", async () => {
    const errors = defineErrors({ OBSERVED_FAILURE: { message: 'failed', status: 500, retriable: false } });
    const coded = errors('OBSERVED_FAILURE');
    const plain = new Error('no code');
    const { settled, record } = settledOf();
    await expect(timedOutcome(() => Promise.reject(coded), record)).rejects.toBe(coded);
    await expect(timedOutcome(() => Promise.reject(plain), record)).rejects.toBe(plain);
    expect(settled.map((entry) => entry.outcome)).toEqual(['OBSERVED_FAILURE', 'unexpected']);
  });

  it('names the outcome of an answer when asked, and counts from a given start', async () => {
    const { settled, record } = settledOf();
    const startedAt = performance.now() - 1000;
    await timedOutcome(
      async () => false,
      record,
      (won) => (won ? 'ok' : 'conflict'),
      startedAt,
    );
    expect(settled[0]!.outcome).toBe('conflict');
    expect(settled[0]!.seconds).toBeGreaterThanOrEqual(1);
  });
});
