/**
 * The port libs emit metrics through. A lib declares its instruments (name, help, label names,
 * buckets) against an `Instruments` it is given, and knows nothing of the exporter: apps bind
 * `prometheusInstruments(registry)`; a lib given none uses `noInstruments`.
 */

import { failureOutcome } from '@granary/errors';

/** Values of the declared labels; a label left out is exported empty. */
export type LabelValues<Label extends string> = Partial<Record<Label, string | number>>;

export interface InstrumentSpec<Label extends string> {
  /** The exported name, e.g. `granary_processor_measures_applied_total`. */
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly Label[];
}

export interface GaugeSpec<Label extends string> extends InstrumentSpec<Label> {
  /** Read at every scrape instead of set: for figures that live elsewhere (an unlabelled gauge). */
  readonly collect?: () => number | Promise<number>;
}

export interface HistogramSpec<Label extends string> extends InstrumentSpec<Label> {
  /** Upper bounds of the buckets, ascending (`+Inf` is implied). */
  readonly buckets: readonly number[];
}

export interface CounterReading<Label extends string> {
  readonly labels: LabelValues<Label>;
  readonly value: number;
}

export interface Counter<Label extends string = never> {
  inc(value?: number): void;
  inc(labels: LabelValues<Label>, value?: number): void;
  /**
   * The totals since start, one per label combination counted: the counter is the one record
   * of what it counts (member statuses read it). Empty when nothing records them.
   */
  readings(): Promise<readonly CounterReading<Label>[]>;
}

export interface Gauge<Label extends string = never> {
  set(value: number): void;
  set(labels: LabelValues<Label>, value: number): void;
}

export interface Histogram<Label extends string = never> {
  observe(value: number): void;
  observe(labels: LabelValues<Label>, value: number): void;
}

/** Declares instruments; each name once per `Instruments`. */
export interface Instruments {
  counter<Label extends string = never>(spec: InstrumentSpec<Label>): Counter<Label>;
  gauge<Label extends string = never>(spec: GaugeSpec<Label>): Gauge<Label>;
  histogram<Label extends string = never>(spec: HistogramSpec<Label>): Histogram<Label>;
}

const ignore = () => {};

/** Instruments that record nothing: the default of a lib whose caller exports no metrics. */
export const noInstruments: Instruments = {
  counter: () => ({ inc: ignore, readings: async () => [] }),
  gauge: () => ({ set: ignore }),
  histogram: () => ({ observe: ignore }),
};

/**
 * Runs `work` and reports how it settled: `settled(outcome, seconds)` with `ok` (or what
 * `outcomeOf` says of the result) or the failure's outcome label (its error code, `unexpected`
 * without one). Answers and errors pass through unchanged. `startedAt` (performance.now()) is for
 * a caller that had to start the work before knowing it was asynchronous.
 */
export async function timedOutcome<Result>(
  work: () => Promise<Result>,
  settled: (outcome: string, seconds: number) => void,
  outcomeOf: (result: Result) => string = () => 'ok',
  startedAt = performance.now(),
): Promise<Result> {
  const seconds = () => (performance.now() - startedAt) / 1000;
  let result: Result;
  try {
    result = await work();
  } catch (error) {
    settled(failureOutcome(error), seconds());
    throw error;
  }
  settled(outcomeOf(result), seconds());
  return result;
}
