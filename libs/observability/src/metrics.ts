import * as prom from 'prom-client';
import type {
  Counter,
  Gauge,
  GaugeSpec,
  Histogram,
  HistogramSpec,
  InstrumentSpec,
  Instruments,
  LabelValues,
} from './instruments.ts';

export type { Registry } from 'prom-client';

/**
 * The event-loop delay histogram's sampling timer: prom-client's default (10 ms) wakes an idle
 * process about 200 times a second, most of what it costs once kafkajs' busy loop is gone (issue
 * 17, docs/adr/0026). At 100 ms a stall of 100 ms or more is still always seen; shorter ones only
 * when they overlap a sample.
 */
const EVENT_LOOP_SAMPLING_MS = 100;

/** A fresh registry per app (and per test), with the process metrics prefixed `granary_`. */
export function createRegistry(app: string): prom.Registry {
  const registry = new prom.Registry();
  registry.setDefaultLabels({ app });
  prom.collectDefaultMetrics({
    register: registry,
    prefix: 'granary_',
    eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLING_MS,
  });
  return registry;
}

type Labelled = (labels: LabelValues<string>, value?: number) => void;
type Unlabelled = (value?: number) => void;

/** One function for both call forms of the port: `(value?)` and `(labels, value?)`. */
function eitherForm(labelled: Labelled, unlabelled: Unlabelled) {
  return (labelsOrValue?: LabelValues<string> | number, value?: number) =>
    typeof labelsOrValue === 'object' ? labelled(labelsOrValue, value) : unlabelled(labelsOrValue);
}

const common = <Label extends string>(spec: InstrumentSpec<Label>, registry: prom.Registry) => ({
  name: spec.name,
  help: spec.help,
  labelNames: [...(spec.labelNames ?? [])] as string[],
  registers: [registry],
});

/** The port bound to prom-client: every instrument is registered on `registry` (the app's). */
export function prometheusInstruments(registry: prom.Registry): Instruments {
  return {
    counter<Label extends string = never>(spec: InstrumentSpec<Label>): Counter<Label> {
      const counter = new prom.Counter(common(spec, registry));
      return {
        inc: eitherForm(
          (labels, value) => counter.inc(labels, value),
          (value) => counter.inc(value),
        ),
        readings: async () =>
          (await counter.get()).values.map(({ labels, value }) => ({
            labels: labels as LabelValues<Label>,
            value,
          })),
      };
    },
    gauge<Label extends string = never>(spec: GaugeSpec<Label>): Gauge<Label> {
      const read = spec.collect;
      const gauge = new prom.Gauge({
        ...common(spec, registry),
        ...(read
          ? {
              async collect(this: prom.Gauge) {
                this.set(await read());
              },
            }
          : {}),
      });
      return {
        set: eitherForm(
          (labels, value) => gauge.set(labels, value ?? 0),
          (value) => gauge.set(value ?? 0),
        ),
      };
    },
    histogram<Label extends string = never>(spec: HistogramSpec<Label>): Histogram<Label> {
      const histogram = new prom.Histogram({ ...common(spec, registry), buckets: [...spec.buckets] });
      return {
        observe: eitherForm(
          (labels, value) => histogram.observe(labels, value ?? 0),
          (value) => histogram.observe(value ?? 0),
        ),
      };
    },
  };
}
