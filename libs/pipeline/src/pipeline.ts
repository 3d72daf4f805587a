import type { GranaryError } from '@granary/errors';
import { MeterFilter } from '@granary/polling';
import type { PipelineDefinition, PublisherDefinition, SinkDefinition } from './config.ts';
import { pipelineErrors } from './errors.ts';
import type { MeterSample } from './sample.ts';
import { type Transformer, createTransformer } from './transformers.ts';

/** Samples a sink hands to its publishers; `sink` is undefined for the pass-through pipeline. */
export interface SinkOutput {
  sink: string | undefined;
  publishers: readonly PublisherDefinition[];
  samples: MeterSample[];
}

/** Told of every sample a transformer could not handle; the sample goes no further, as in Ceilometer. */
export type TransformFailureListener = (
  error: GranaryError,
  context: { sink: string; transformer: string },
) => void;

/** A sink and its transformer chain; its state is shared by every source that names it. */
class Sink {
  readonly transformers: Transformer[];

  constructor(
    readonly definition: SinkDefinition,
    private readonly onFailure: TransformFailureListener,
  ) {
    this.transformers = definition.transformers.map((t) => {
      try {
        return createTransformer(t.name, t.parameters);
      } catch (cause) {
        throw pipelineErrors(
          'PIPELINE_CONFIG_INVALID',
          `sink '${definition.name}': ${(cause as Error).message}`,
          { cause },
        );
      }
    });
  }

  /** Ceilometer's `_publish_samples(start, samples)`: run transformers `start..` on each sample. */
  transform(start: number, samples: readonly MeterSample[]): MeterSample[] {
    if (start >= this.transformers.length) return [...samples];
    const passed: MeterSample[] = [];
    for (const sample of samples) {
      let current: MeterSample | undefined = sample;
      for (const transformer of this.transformers.slice(start)) {
        try {
          current = transformer.handle(current);
        } catch (error) {
          // Even an uncoded error (a transformer bug met by this sample's values) is this
          // sample's problem: it goes no further, and the other samples go on.
          this.onFailure(asTransformFailure(error), {
            sink: this.definition.name,
            transformer: transformer.name,
          });
          current = undefined;
        }
        if (current === undefined) break;
      }
      if (current !== undefined) passed.push(current);
    }
    return passed;
  }

  /** Ceilometer's `flush()`: what transformer i releases goes through transformers i+1 onwards. */
  flush(): MeterSample[] {
    return this.transformers.flatMap((transformer, i) => {
      const released = transformer.flush((error) =>
        this.onFailure(error, { sink: this.definition.name, transformer: transformer.name }),
      );
      return this.transform(i + 1, released);
    });
  }
}

function asTransformFailure(error: unknown): GranaryError {
  if (pipelineErrors.is(error)) return error;
  return pipelineErrors('PIPELINE_TRANSFORM_FAILED', error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}

/**
 * Ceilometer's sample pipeline manager: one pipeline per (source, sink) pair, sources filtering by
 * meter, sinks transforming. `process` is one batch: every pipeline gets the batch, then every
 * pipeline flushes (Ceilometer's `with publisher as p: p(samples)`). A definition without sources
 * and sinks passes every sample through.
 */
export class SamplePipeline {
  private readonly pairs: Array<{ filter: MeterFilter; sink: Sink }>;
  readonly passThrough: boolean;

  constructor(definition: PipelineDefinition, options: { onFailure: TransformFailureListener }) {
    const sinks = new Map(definition.sinks.map((s) => [s.name, new Sink(s, options.onFailure)]));
    this.pairs = definition.sources.flatMap((source) =>
      source.sinks.map((name) => ({ filter: new MeterFilter(source.meters), sink: sinks.get(name)! })),
    );
    this.passThrough = definition.sources.length === 0 && definition.sinks.length === 0;
  }

  process(samples: readonly MeterSample[]): SinkOutput[] {
    if (this.passThrough) return [{ sink: undefined, publishers: [], samples: [...samples] }];
    const outputs: SinkOutput[] = [];
    const emit = (sink: Sink, produced: MeterSample[]) => {
      if (produced.length > 0)
        outputs.push({
          sink: sink.definition.name,
          publishers: sink.definition.publishers,
          samples: produced,
        });
    };
    for (const { filter, sink } of this.pairs) {
      emit(
        sink,
        sink.transform(
          0,
          samples.filter((s) => filter.matches(s.counter_name)),
        ),
      );
    }
    for (const { sink } of this.pairs) emit(sink, sink.flush());
    return outputs;
  }
}
