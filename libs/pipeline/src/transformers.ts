import { randomUUID } from 'node:crypto';
import type { GranaryError } from '@granary/errors';
import { type Expression, compileExpression } from '@granary/expression';
import type { CounterType } from '@granary/schema';
import { pipelineErrors } from './errors.ts';
import { type MeterSample, sampleNamespace } from './sample.ts';

/**
 * A Ceilometer transformer (rocky-eol `ceilometer/transformer/*.py`). `handle` returns the sample
 * to pass on, or undefined to stop the chain; `flush` releases what it held back. State lives as
 * long as the transformer, which is per sink as in Ceilometer.
 */
export interface Transformer {
  readonly name: string;
  /** Throws PIPELINE_TRANSFORM_FAILED when the sample cannot be transformed. */
  handle(sample: MeterSample): MeterSample | undefined;
  /** What was held back; a sample that could not be made is reported to `failed`, the rest go on. */
  flush(failed: (error: GranaryError) => void): MeterSample[];
}

const COUNTER_TYPES: readonly string[] = ['gauge', 'delta', 'cumulative'];

function invalid(transformer: string, problem: string): Error {
  return pipelineErrors('PIPELINE_CONFIG_INVALID', `transformer '${transformer}': ${problem}`);
}

function transformFailed(transformer: string, sample: MeterSample, cause: unknown): GranaryError {
  return pipelineErrors(
    'PIPELINE_TRANSFORM_FAILED',
    `${transformer} on ${sample.counter_name} of ${sample.resource_id}: ${(cause as Error).message}`,
    { cause },
  );
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function section(parameters: Record<string, unknown>, key: string, transformer: string) {
  const value = parameters[key] ?? {};
  if (!isObject(value)) throw invalid(transformer, `${key} must be a mapping`);
  return value;
}

function optionalString(value: unknown, where: string, transformer: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(transformer, `${where} must be a string`);
  return value;
}

function optionalType(value: unknown, transformer: string): CounterType | undefined {
  const type = optionalString(value, 'target.type', transformer);
  if (type !== undefined && !COUNTER_TYPES.includes(type))
    throw invalid(transformer, `target.type must be one of ${COUNTER_TYPES.join(', ')}`);
  return type as CounterType | undefined;
}

/** Python `re` syntax to JavaScript: named groups are spelled `(?P<name>…)` there. */
function pythonRegExp(pattern: string, where: string, transformer: string): RegExp {
  try {
    return new RegExp(pattern.replaceAll('(?P<', '(?<'), 'g');
  } catch (cause) {
    throw pipelineErrors('PIPELINE_CONFIG_INVALID', `transformer '${transformer}': ${where} is not a regex`, {
      cause,
    });
  }
}

/** A Python `re.sub` replacement (`\1`, `\g<1>`, `\g<name>`) as a JavaScript one (`$1`, `$<name>`). */
function pythonReplacement(template: string): string {
  return template
    .replaceAll('$', '$$$$')
    .replace(/\\g<(\d+)>/g, '$$$1')
    .replace(/\\g<(\w+)>/g, '$$<$1>')
    .replace(/\\(\d+)/g, '$$$1');
}

/**
 * `source.map_from` / `target.map_to`: each of name and unit rewritten with `re.sub` when both
 * sides give a pattern for it; otherwise `target.<attr>`, otherwise the sample's own.
 */
class NameAndUnitMapping {
  private readonly rewrites = new Map<'name' | 'unit', { from: RegExp; to: string }>();
  private readonly fixed: { name?: string; unit?: string };

  constructor(source: Record<string, unknown>, target: Record<string, unknown>, transformer: string) {
    const mapFrom = section(source, 'map_from', transformer);
    const mapTo = section(target, 'map_to', transformer);
    for (const attr of ['name', 'unit'] as const) {
      const from = optionalString(mapFrom[attr], `source.map_from.${attr}`, transformer);
      const to = optionalString(mapTo[attr], `target.map_to.${attr}`, transformer);
      if (from !== undefined && to !== undefined)
        this.rewrites.set(attr, {
          from: pythonRegExp(from, `source.map_from.${attr}`, transformer),
          to: pythonReplacement(to),
        });
    }
    this.fixed = {
      name: optionalString(target.name, 'target.name', transformer),
      unit: optionalString(target.unit, 'target.unit', transformer),
    };
  }

  apply(attr: 'name' | 'unit', value: string): string {
    const rewrite = this.rewrites.get(attr);
    if (rewrite) return value.replace(rewrite.from, rewrite.to);
    return this.fixed[attr] ?? value;
  }
}

/** A sample derived from `sample`, as Ceilometer's transformers build a new `Sample`. */
function derived(
  sample: MeterSample,
  change: Pick<MeterSample, 'counter_name' | 'counter_unit' | 'counter_type' | 'counter_volume'>,
): MeterSample {
  return { ...sample, ...change, message_id: randomUUID(), monotonic_time: null };
}

const seconds = (micros: number) => micros / 1_000_000;

/**
 * `unit_conversion` (ScalingTransformer): applies when `source.unit` is absent or equals the
 * sample's unit. A string `scale` is an expression over the sample whose value is the new volume
 * (`volume * 1.0 / 1024`); a number multiplies the volume. The result is capped at `max`.
 */
class UnitConversion implements Transformer {
  protected readonly sourceUnit: string | undefined;
  protected readonly mapping: NameAndUnitMapping;
  protected readonly scale: Expression | number | undefined;
  private readonly max: number | undefined;
  private readonly type: CounterType | undefined;

  constructor(
    parameters: Record<string, unknown>,
    readonly name = 'unit_conversion',
    defaultScale?: string,
  ) {
    const source = section(parameters, 'source', this.name);
    const target = section(parameters, 'target', this.name);
    this.sourceUnit = optionalString(source.unit, 'source.unit', this.name);
    this.mapping = new NameAndUnitMapping(source, target, this.name);
    this.type = optionalType(target.type, this.name);
    const scale = target.scale ?? defaultScale;
    if (typeof scale === 'string') {
      try {
        this.scale = compileExpression(scale);
      } catch (cause) {
        throw pipelineErrors('PIPELINE_CONFIG_INVALID', `transformer '${this.name}': target.scale`, {
          cause,
        });
      }
    } else if (typeof scale === 'number' || scale === undefined || scale === null) {
      // Python's `if scale`: 0 means no scaling.
      this.scale = scale || undefined;
    } else throw invalid(this.name, 'target.scale must be a number or an expression');
    const max = target.max ?? undefined;
    if (max !== undefined && typeof max !== 'number') throw invalid(this.name, 'target.max must be a number');
    this.max = max || undefined;
  }

  handle(sample: MeterSample): MeterSample | undefined {
    if (this.sourceUnit !== undefined && this.sourceUnit !== sample.counter_unit) return sample;
    return this.convert(sample, 1);
  }

  flush(): MeterSample[] {
    return [];
  }

  /** Ceilometer's `_scale(s) * growth`, capped. */
  protected convert(sample: MeterSample, growth: number): MeterSample {
    let volume: number;
    if (this.scale === undefined) volume = sample.counter_volume * growth;
    else if (typeof this.scale === 'number') volume = this.scaleNumber(sample, this.scale, growth);
    else {
      let value: unknown;
      try {
        value = this.scale.evaluate(sampleNamespace(sample));
      } catch (cause) {
        throw transformFailed(this.name, sample, cause);
      }
      if (typeof value !== 'number' && typeof value !== 'boolean')
        throw transformFailed(this.name, sample, new Error(`scale gave ${JSON.stringify(value)}`));
      volume = Number(value) * growth;
    }
    return derived(sample, {
      counter_name: this.mapping.apply('name', sample.counter_name),
      counter_unit: this.mapping.apply('unit', sample.counter_unit),
      counter_type: this.type ?? sample.counter_type,
      counter_volume: this.max !== undefined ? Math.min(volume, this.max) : volume,
    });
  }

  protected scaleNumber(sample: MeterSample, scale: number, growth: number): number {
    return sample.counter_volume * scale * growth;
  }
}

interface Previous {
  volume: number;
  timestamp: number;
  monotonicTime: number | null;
}

/**
 * `rate_of_change`: per meter and resource, (Δvolume / Δt) × scale, with Δt from the monotonic
 * clocks when both samples have one. The first sample is dropped; an older one is dropped and the
 * newer kept; a cumulative counter that went down is taken as reset (Δ = its volume). The scale
 * expression defaults to `1`; a numeric scale multiplies the rate.
 */
class RateOfChange extends UnitConversion {
  private readonly previous = new Map<string, Previous>();

  constructor(parameters: Record<string, unknown>) {
    super(parameters, 'rate_of_change', '1');
  }

  override handle(sample: MeterSample): MeterSample | undefined {
    const key = `${sample.counter_name}\0${sample.resource_id}`;
    const previous = this.previous.get(key);
    const current = {
      volume: sample.counter_volume,
      timestamp: sample.timestamp,
      monotonicTime: sample.monotonic_time,
    };
    if (!previous) {
      this.previous.set(key, current);
      return undefined;
    }
    const elapsed =
      previous.monotonicTime !== null && current.monotonicTime !== null
        ? current.monotonicTime - previous.monotonicTime
        : seconds(current.timestamp - previous.timestamp);
    if (elapsed < 0) return undefined;
    this.previous.set(key, current);
    const reset = sample.counter_type === 'cumulative' && previous.volume > current.volume;
    const change = reset ? current.volume : current.volume - previous.volume;
    return this.convert(sample, elapsed ? change / elapsed : 0);
  }

  protected override scaleNumber(_sample: MeterSample, scale: number, rate: number): number {
    return scale * rate;
  }
}

/**
 * `delta`: the difference with the previous volume of the meter and resource, as a `delta`
 * sample named `target.name` (or mapped). The first sample and older ones are dropped, and
 * negative deltas too with `growth_only`.
 */
class Delta implements Transformer {
  readonly name = 'delta';
  private readonly mapping: NameAndUnitMapping;
  private readonly growthOnly: boolean;
  private readonly previous = new Map<string, { volume: number; timestamp: number }>();

  constructor(parameters: Record<string, unknown>) {
    const source = section(parameters, 'source', this.name);
    const target = section(parameters, 'target', this.name);
    this.mapping = new NameAndUnitMapping(source, target, this.name);
    const growthOnly = parameters.growth_only ?? false;
    if (typeof growthOnly !== 'boolean') throw invalid(this.name, 'growth_only must be a boolean');
    this.growthOnly = growthOnly;
  }

  handle(sample: MeterSample): MeterSample | undefined {
    const key = `${sample.counter_name}\0${sample.resource_id}`;
    const previous = this.previous.get(key);
    if (previous && sample.timestamp < previous.timestamp) return undefined;
    this.previous.set(key, { volume: sample.counter_volume, timestamp: sample.timestamp });
    if (!previous) return undefined;
    const delta = sample.counter_volume - previous.volume;
    if (this.growthOnly && delta < 0) return undefined;
    return derived(sample, {
      counter_name: this.mapping.apply('name', sample.counter_name),
      counter_unit: sample.counter_unit,
      counter_type: 'delta',
      counter_volume: delta,
    });
  }

  flush(): MeterSample[] {
    return [];
  }
}

/** `accumulator`: holds samples back and releases them all at a flush once there are `size`. */
class Accumulator implements Transformer {
  readonly name = 'accumulator';
  private readonly size: number;
  private held: MeterSample[] = [];

  constructor(parameters: Record<string, unknown>) {
    const size = parameters.size ?? 1;
    if (typeof size !== 'number' || !Number.isInteger(size))
      throw invalid(this.name, 'size must be an integer');
    this.size = size;
  }

  handle(sample: MeterSample): MeterSample | undefined {
    if (this.size < 1) return sample;
    this.held.push(sample);
    return undefined;
  }

  flush(): MeterSample[] {
    if (this.size < 1 || this.held.length < this.size) return [];
    const released = this.held;
    this.held = [];
    return released;
  }
}

/** `$(meter.name)` in an arithmetic expression. */
const METER_REFERENCE = /\$\(([\w.-]+)\)(\.)?/g;

/**
 * `arithmetic`: keeps the latest sample of every meter `expr` names, per resource, and at a flush
 * evaluates `expr` for each resource that has them all, then forgets them. `$(m)` is the volume of
 * meter m and `$(m).field` a field of its sample (`$(cpu).resource_metadata.cpu_number`). The new
 * sample copies the first meter's sample, with the latest timestamp seen; NaN gives no sample.
 * Samples of other meters stop here, as in Ceilometer.
 */
class Arithmetic implements Transformer {
  readonly name = 'arithmetic';
  private readonly expression: Expression;
  /** Meter name → the identifier it has inside the rewritten expression. */
  private readonly identifiers = new Map<string, string>();
  private readonly referenceMeter: string;
  private readonly target: { name?: string; unit?: string; type?: CounterType };
  private readonly cache = new Map<string, Map<string, MeterSample>>();
  private latestTimestamp: number | undefined;

  constructor(parameters: Record<string, unknown>) {
    const target = section(parameters, 'target', this.name);
    const source = optionalString(target.expr, 'target.expr', this.name);
    if (!source) throw invalid(this.name, 'target.expr is required');
    const rewritten = source.replace(METER_REFERENCE, (_match, meter: string, field: string | undefined) => {
      if (!this.identifiers.has(meter)) this.identifiers.set(meter, `_meter${this.identifiers.size}`);
      const identifier = this.identifiers.get(meter)!;
      return field ? `${identifier}.` : `${identifier}.volume`;
    });
    const first = this.identifiers.keys().next();
    if (first.done) throw invalid(this.name, `target.expr names no meter as $(name): ${source}`);
    this.referenceMeter = first.value;
    try {
      this.expression = compileExpression(rewritten);
    } catch (cause) {
      throw pipelineErrors('PIPELINE_CONFIG_INVALID', `transformer '${this.name}': target.expr`, { cause });
    }
    this.target = {
      name: optionalString(target.name, 'target.name', this.name),
      unit: optionalString(target.unit, 'target.unit', this.name),
      type: optionalType(target.type, this.name),
    };
  }

  handle(sample: MeterSample): undefined {
    if (this.identifiers.has(sample.counter_name)) {
      const perMeter = this.cache.get(sample.resource_id) ?? new Map<string, MeterSample>();
      perMeter.set(sample.counter_name, sample);
      this.cache.set(sample.resource_id, perMeter);
    }
    this.latestTimestamp = sample.timestamp;
    return undefined;
  }

  flush(failed: (error: GranaryError) => void): MeterSample[] {
    const results: MeterSample[] = [];
    for (const [resourceId, perMeter] of this.cache) {
      if (perMeter.size !== this.identifiers.size) continue;
      this.cache.delete(resourceId);
      const reference = perMeter.get(this.referenceMeter)!;
      const variables = Object.fromEntries(
        [...perMeter].map(([meter, sample]) => [this.identifiers.get(meter)!, sampleNamespace(sample)]),
      );
      let value: unknown;
      try {
        value = this.expression.evaluate(variables);
      } catch (cause) {
        failed(transformFailed(this.name, reference, cause));
        continue;
      }
      if (typeof value !== 'number' && typeof value !== 'boolean') {
        failed(transformFailed(this.name, reference, new Error(`expr gave ${JSON.stringify(value)}`)));
        continue;
      }
      if (Number.isNaN(Number(value))) {
        failed(transformFailed(this.name, reference, new Error('expr evaluated to NaN')));
        continue;
      }
      results.push({
        ...derived(reference, {
          counter_name: this.target.name ?? reference.counter_name,
          counter_unit: this.target.unit ?? reference.counter_unit,
          counter_type: this.target.type ?? reference.counter_type,
          counter_volume: Number(value),
        }),
        timestamp: this.latestTimestamp ?? reference.timestamp,
      });
    }
    return results;
  }
}

const FACTORIES: Record<string, (parameters: Record<string, unknown>) => Transformer> = {
  unit_conversion: (p) => new UnitConversion(p),
  rate_of_change: (p) => new RateOfChange(p),
  delta: (p) => new Delta(p),
  accumulator: (p) => new Accumulator(p),
  arithmetic: (p) => new Arithmetic(p),
};

export const TRANSFORMER_NAMES: readonly string[] = Object.keys(FACTORIES);

/** Build a transformer from its pipeline.yaml entry; bad parameters are PIPELINE_CONFIG_INVALID. */
export function createTransformer(name: string, parameters: Record<string, unknown>): Transformer {
  const factory = FACTORIES[name];
  if (!factory) throw invalid(name, `unknown transformer; Granary has ${TRANSFORMER_NAMES.join(', ')}`);
  return factory(parameters);
}
