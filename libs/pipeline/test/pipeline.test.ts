import { readFileSync } from 'node:fs';
import type { GranaryError } from '@granary/errors';
import { describe, expect, it } from 'vitest';
import {
  type MeterSample,
  type PipelineDefinition,
  SamplePipeline,
  createTransformer,
  parsePipelineConfig,
  pipelineErrors,
} from '../index.ts';

const DATA = '/work/shared/reference/ceilometer-data';
const SECOND = 1_000_000;

const sample = (overrides: Partial<MeterSample> = {}): MeterSample => ({
  counter_name: 'cpu',
  counter_type: 'cumulative',
  counter_unit: 'ns',
  counter_volume: 0,
  user_id: 'u',
  project_id: 'p',
  user_name: null,
  project_name: null,
  resource_id: 'vm-1',
  timestamp: 1_700_000_000 * SECOND,
  resource_metadata: {},
  source: 'openstack',
  message_id: 'id',
  monotonic_time: null,
  ...overrides,
});

const noFailure = () => {
  throw new Error('no transformer failure expected');
};
const pipelineOf = (yaml: string) => new SamplePipeline(parsePipelineConfig(yaml), { onFailure: noFailure });

describe('pipeline.yaml parsing', () => {
  it('reads the default and the transformer files of Ceilometer', () => {
    const master = parsePipelineConfig(readFileSync(`${DATA}/pipeline.yaml`, 'utf8'));
    expect(master.sources).toEqual([{ name: 'meter_source', meters: ['*'], sinks: ['meter_sink'] }]);
    expect(master.sinks[0]!.publishers).toEqual([{ url: 'gnocchi://', scheme: 'gnocchi', options: {} }]);
    const rocky = parsePipelineConfig(readFileSync(`${DATA}/pipeline.rocky-with-transformers.yaml`, 'utf8'));
    expect(rocky.sinks.map((s) => s.name)).toEqual([
      'meter_sink',
      'cpu_sink',
      'cpu_delta_sink',
      'disk_sink',
      'network_sink',
    ]);
    expect(rocky.sinks[2]!.transformers).toEqual([
      { name: 'delta', parameters: { target: { name: 'cpu.delta' }, growth_only: true } },
    ]);
    const mitaka = parsePipelineConfig(
      readFileSync(`${DATA}/pipeline.mitaka-with-interval-and-transformers.yaml`, 'utf8'),
    );
    expect(mitaka.sinks[0]!.transformers).toEqual([]);
    expect(mitaka.sinks[0]!.publishers[0]!.scheme).toBe('notifier');
    // Every transformer of both files runs: two readings 10 s apart of one meter per source.
    const transformed = (definition: PipelineDefinition) => {
      const pipeline = new SamplePipeline(definition, { onFailure: noFailure });
      const readings = (seconds: number, volume: number) =>
        (
          [
            ['cpu', 'ns'],
            ['disk.read.bytes', 'B'],
            ['network.incoming.bytes', 'B'],
          ] as const
        ).map(([name, unit]) =>
          sample({
            counter_name: name,
            counter_unit: unit,
            counter_volume: volume,
            timestamp: (1_700_000_000 + seconds) * SECOND,
          }),
        );
      pipeline.process(readings(0, 0));
      return pipeline
        .process(readings(10, 20e9))
        .filter((output) => output.sink !== 'meter_sink')
        .map((output) => [
          output.sink,
          output.samples.map((s) => [s.counter_name, s.counter_unit, s.counter_volume]),
        ]);
    };
    const derived = (cpuUtil: number) => [
      ['cpu_sink', [['cpu_util', '%', cpuUtil]]],
      ['cpu_delta_sink', [['cpu.delta', 'ns', 20e9]]],
      ['disk_sink', [['disk.read.bytes.rate', 'B/s', 2e9]]],
      ['network_sink', [['network.incoming.bytes.rate', 'B/s', 2e9]]],
    ];
    // 2e9 ns of CPU per second is 200 %: Rocky's cpu_util caps it at max 100, Mitaka's has no max.
    expect(transformed(rocky)).toEqual(derived(100));
    expect(transformed(mitaka)).toEqual(derived(200));
  });

  it('appends :// to bare publishers and reads URL options', () => {
    const definition = parsePipelineConfig(`
sources: [{name: s, meters: ['*'], sinks: [k]}]
sinks: [{name: k, publishers: [gnocchi, 'gnocchi://?archive_policy=high&timeout=5']}]`);
    expect(definition.sinks[0]!.publishers).toEqual([
      { url: 'gnocchi://', scheme: 'gnocchi', options: {} },
      {
        url: 'gnocchi://?archive_policy=high&timeout=5',
        scheme: 'gnocchi',
        options: { archive_policy: 'high', timeout: '5' },
      },
    ]);
  });

  it.each([
    ['sources: []', 'sinks must be a list'],
    ['sinks: []', 'sources must be a list'],
    [
      'sources: [{name: a, meters: ["*"], sinks: [x]}]\nsinks: [{name: y, publishers: [gnocchi://]}]',
      "no sink named 'x'",
    ],
    [
      'sources: [{name: a, meters: ["*"], sinks: [k]}, {name: a, meters: ["*"], sinks: [k]}]\nsinks: [{name: k, publishers: [gnocchi://]}]',
      'duplicated source names: a',
    ],
    [
      'sources: [{name: a, meters: ["*"], sinks: [k]}]\nsinks: [{name: k, publishers: [x://]}, {name: k, publishers: [y://]}]',
      'duplicated sink names: k',
    ],
    [
      'sources: [{name: a, meters: [cpu, "!disk"], sinks: [k]}]\nsinks: [{name: k, publishers: [g://]}]',
      'both included and excluded',
    ],
    [
      'sources: [{name: a, meters: ["*"], sinks: [k]}]\nsinks: [{name: k, publishers: []}]',
      "sink 'k': no publisher",
    ],
    [
      'sources: [{name: a, meters: ["*"], sinks: [k]}]\nsinks: [{name: k, publishers: [g://], transformers: [{name: aggregator}]}]',
      'unknown transformer',
    ],
    [
      'sources: [{name: a, meters: ["*"], sinks: [k]}]\nsinks: [{name: k, publishers: [g://], transformers: [{name: rate_of_change, parameters: {target: {scale: "1 +"}}}]}]',
      "transformer 'rate_of_change': target.scale",
    ],
    [
      'sources: [{name: a, meters: ["*"], sinks: [k]}]\nsinks: [{name: k, publishers: [g://], transformers: [{name: arithmetic, parameters: {target: {expr: "1 + 2"}}}]}]',
      'names no meter',
    ],
    ['sources: [\n', 'not valid YAML'],
  ])('refuses %j (%s)', (yaml, problem) => {
    let caught: unknown;
    try {
      pipelineOf(yaml);
    } catch (error) {
      caught = error;
    }
    expect(pipelineErrors.is(caught, 'PIPELINE_CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toContain(problem);
  });

  it('passes every sample through when there are no sinks', () => {
    for (const yaml of ['', '# nothing\n', '{}']) {
      const pipeline = pipelineOf(yaml);
      expect(pipeline.passThrough).toBe(true);
      const samples = [sample(), sample({ counter_name: 'memory' })];
      expect(pipeline.process(samples)).toEqual([{ sink: undefined, publishers: [], samples }]);
    }
  });
});

describe('sources and sinks', () => {
  const yaml = `
sources:
  - {name: everything, meters: ["*", "!cpu"], sinks: [plain]}
  - {name: cpu_source, meters: [cpu], sinks: [plain, deltas]}
sinks:
  - {name: plain, publishers: [gnocchi://]}
  - name: deltas
    publishers: ['gnocchi://?archive_policy=ceilometer-high']
    transformers: [{name: delta, parameters: {target: {name: cpu.delta}}}]`;

  it('routes each sample by the meter filters of the sources, a sink per pair', () => {
    const pipeline = pipelineOf(yaml);
    const cpu = sample({ counter_volume: 10 });
    const memory = sample({ counter_name: 'memory', counter_type: 'gauge' });
    const first = pipeline.process([cpu, memory]);
    expect(first.map((o) => [o.sink, o.samples.map((s) => s.counter_name)])).toEqual([
      ['plain', ['memory']],
      ['plain', ['cpu']],
    ]);
    const second = pipeline.process([{ ...cpu, counter_volume: 25, timestamp: cpu.timestamp + SECOND }]);
    expect(
      second.map((o) => [o.sink, o.samples.map((s) => [s.counter_name, s.counter_type, s.counter_volume])]),
    ).toEqual([
      ['plain', [['cpu', 'cumulative', 25]]],
      ['deltas', [['cpu.delta', 'delta', 15]]],
    ]);
    expect(second[1]!.publishers[0]!.options).toEqual({ archive_policy: 'ceilometer-high' });
  });

  it('reports a transformer failure and drops only that sample', () => {
    const failures: Array<[GranaryError, string]> = [];
    const pipeline = new SamplePipeline(
      parsePipelineConfig(`
sources: [{name: s, meters: ["*"], sinks: [k]}]
sinks:
  - name: k
    publishers: [gnocchi://]
    transformers: [{name: unit_conversion, parameters: {target: {scale: "volume / resource_metadata.divisor"}}}]`),
      { onFailure: (error, context) => failures.push([error, context.transformer]) },
    );
    const [output] = pipeline.process([
      sample({ counter_volume: 8, resource_metadata: { divisor: 2 } }),
      sample({ counter_volume: 8, resource_metadata: { divisor: 'two' } }),
    ]);
    expect(output!.samples.map((s) => s.counter_volume)).toEqual([4]);
    expect(failures).toHaveLength(1);
    expect(failures[0]![0].code).toBe('PIPELINE_TRANSFORM_FAILED');
    expect(failures[0]![1]).toBe('unit_conversion');
  });

  it('feeds what a flush releases to the transformers after it', () => {
    const pipeline = pipelineOf(`
sources: [{name: s, meters: ["*"], sinks: [k]}]
sinks:
  - name: k
    publishers: [gnocchi://]
    transformers:
      - {name: accumulator, parameters: {size: 2}}
      - {name: unit_conversion, parameters: {target: {scale: 10}}}`);
    expect(pipeline.process([sample({ counter_volume: 1 })])).toEqual([]);
    const [released] = pipeline.process([sample({ counter_volume: 2 })]);
    expect(released!.samples.map((s) => s.counter_volume)).toEqual([10, 20]);
  });
});

describe('transformers', () => {
  it('rate_of_change: cpu_util from Rocky, scale expression over the metadata, capped at max', () => {
    const cpuUtil = createTransformer('rate_of_change', {
      target: {
        name: 'cpu_util',
        unit: '%',
        type: 'gauge',
        max: 100,
        scale: '100.0 / (10**9 * (resource_metadata.cpu_number or 1))',
      },
    });
    const t0 = 1_700_000_000 * SECOND;
    const metadata = { cpu_number: 2 };
    expect(
      cpuUtil.handle(sample({ counter_volume: 0, timestamp: t0, resource_metadata: metadata })),
    ).toBeUndefined();
    // 10 s of two CPUs at 50%: 10e9 ns of CPU time.
    const util = cpuUtil.handle(
      sample({ counter_volume: 10e9, timestamp: t0 + 10 * SECOND, resource_metadata: metadata }),
    )!;
    expect([util.counter_name, util.counter_unit, util.counter_type]).toEqual(['cpu_util', '%', 'gauge']);
    expect(util.counter_volume).toBeCloseTo(50, 10);
    // Without cpu_number the scale falls back to one CPU; capped at 100.
    const capped = cpuUtil.handle(sample({ counter_volume: 40e9, timestamp: t0 + 20 * SECOND }))!;
    expect(capped.counter_volume).toBe(100);
  });

  it('rate_of_change: monotonic time, resets of cumulative counters, out-of-order samples', () => {
    const rate = createTransformer('rate_of_change', {});
    const t0 = 1_700_000_000 * SECOND;
    rate.handle(sample({ counter_volume: 100, timestamp: t0, monotonic_time: 50 }));
    // The monotonic clocks say 4 s even though the wall clock says 10 s.
    expect(
      rate.handle(sample({ counter_volume: 140, timestamp: t0 + 10 * SECOND, monotonic_time: 54 }))!
        .counter_volume,
    ).toBe(10);
    // Older than the last one: dropped, and the newer one stays the reference.
    expect(rate.handle(sample({ counter_volume: 500, timestamp: t0, monotonic_time: 53 }))).toBeUndefined();
    // A cumulative counter that went down was reset: the new volume is the growth.
    expect(
      rate.handle(sample({ counter_volume: 20, timestamp: t0 + 20 * SECOND, monotonic_time: 56 }))!
        .counter_volume,
    ).toBe(10);
    // A gauge may go down.
    const gauge = createTransformer('rate_of_change', {});
    gauge.handle(sample({ counter_type: 'gauge', counter_volume: 10, timestamp: t0 }));
    expect(
      gauge.handle(sample({ counter_type: 'gauge', counter_volume: 4, timestamp: t0 + 2 * SECOND }))!
        .counter_volume,
    ).toBe(-3);
    // Separate state per resource.
    expect(rate.handle(sample({ resource_id: 'vm-2', counter_volume: 1 }))).toBeUndefined();
  });

  it('rate_of_change: map_from/map_to rename with Python back-references, zero interval gives 0', () => {
    const disk = createTransformer('rate_of_change', {
      source: {
        map_from: { name: '(disk\\.device|disk)\\.(read|write)\\.(bytes|requests)', unit: '(B|request)' },
      },
      target: { map_to: { name: '\\1.\\2.\\3.rate', unit: '\\1/s' }, type: 'gauge' },
    });
    const t0 = 1_700_000_000 * SECOND;
    disk.handle(
      sample({ counter_name: 'disk.device.read.bytes', counter_unit: 'B', counter_volume: 0, timestamp: t0 }),
    );
    const rate = disk.handle(
      sample({
        counter_name: 'disk.device.read.bytes',
        counter_unit: 'B',
        counter_volume: 4096,
        timestamp: t0 + 2 * SECOND,
      }),
    )!;
    expect([rate.counter_name, rate.counter_unit, rate.counter_type, rate.counter_volume]).toEqual([
      'disk.device.read.bytes.rate',
      'B/s',
      'gauge',
      2048,
    ]);
    const same = disk.handle(
      sample({
        counter_name: 'disk.device.read.bytes',
        counter_unit: 'B',
        counter_volume: 9999,
        timestamp: t0 + 2 * SECOND,
      }),
    )!;
    expect(same.counter_volume).toBe(0);
  });

  it('unit_conversion: only the matching source unit, expression or factor scale', () => {
    const toMiB = createTransformer('unit_conversion', {
      source: { unit: 'KiB' },
      target: { name: 'memory.mib', unit: 'MiB', scale: 'volume * 1.0 / 1024' },
    });
    const converted = toMiB.handle(
      sample({ counter_name: 'memory', counter_unit: 'KiB', counter_volume: 2048 }),
    )!;
    expect([converted.counter_name, converted.counter_unit, converted.counter_volume]).toEqual([
      'memory.mib',
      'MiB',
      2,
    ]);
    const other = sample({ counter_unit: 'B', counter_volume: 7 });
    expect(toMiB.handle(other)).toBe(other);
    const factor = createTransformer('unit_conversion', { target: { scale: 8, unit: 'bit' } });
    expect(factor.handle(sample({ counter_volume: 3 }))!.counter_volume).toBe(24);
  });

  it('delta: drops the first sample, negative deltas with growth_only, and older samples', () => {
    const delta = createTransformer('delta', { target: { name: 'cpu.delta' }, growth_only: true });
    const t0 = 1_700_000_000 * SECOND;
    expect(delta.handle(sample({ counter_volume: 10, timestamp: t0 }))).toBeUndefined();
    const out = delta.handle(sample({ counter_volume: 15, timestamp: t0 + SECOND }))!;
    expect([out.counter_name, out.counter_type, out.counter_volume, out.counter_unit]).toEqual([
      'cpu.delta',
      'delta',
      5,
      'ns',
    ]);
    expect(delta.handle(sample({ counter_volume: 12, timestamp: t0 + 2 * SECOND }))).toBeUndefined();
    expect(delta.handle(sample({ counter_volume: 99, timestamp: t0 }))).toBeUndefined();
    expect(delta.handle(sample({ counter_volume: 14, timestamp: t0 + 3 * SECOND }))!.counter_volume).toBe(2);
    const signed = createTransformer('delta', {});
    signed.handle(sample({ counter_volume: 10 }));
    expect(signed.handle(sample({ counter_volume: 4, timestamp: t0 + SECOND }))!.counter_volume).toBe(-6);
  });

  it('accumulator: releases at a flush once it holds size samples; size 0 passes through', () => {
    const accumulator = createTransformer('accumulator', { size: 3 });
    const samples = [1, 2, 3].map((v) => sample({ counter_volume: v }));
    expect(accumulator.handle(samples[0]!)).toBeUndefined();
    accumulator.handle(samples[1]!);
    expect(accumulator.flush(noFailure)).toEqual([]);
    accumulator.handle(samples[2]!);
    expect(accumulator.flush(noFailure)).toEqual(samples);
    expect(accumulator.flush(noFailure)).toEqual([]);
    const passing = createTransformer('accumulator', { size: 0 });
    expect(passing.handle(samples[0]!)).toBe(samples[0]);
  });

  it('arithmetic: per resource once every meter is there, volumes and fields, NaN and errors reported', () => {
    const memoryUtil = createTransformer('arithmetic', {
      target: { name: 'memory_util', unit: '%', type: 'gauge', expr: '100 * $(memory.usage) / $(memory)' },
    });
    const t0 = 1_700_000_000 * SECOND;
    const memory = (name: string, volume: number, resource = 'vm-1', timestamp = t0) =>
      sample({
        counter_name: name,
        counter_type: 'gauge',
        counter_unit: 'MiB',
        counter_volume: volume,
        resource_id: resource,
        timestamp,
      });
    expect(memoryUtil.handle(memory('memory', 2048))).toBeUndefined();
    expect(memoryUtil.handle(memory('memory', 1000, 'vm-2'))).toBeUndefined();
    expect(memoryUtil.handle(memory('cpu', 1))).toBeUndefined();
    expect(memoryUtil.handle(memory('memory.usage', 512, 'vm-1', t0 + SECOND))).toBeUndefined();
    const [util, ...rest] = memoryUtil.flush(noFailure);
    expect(rest).toEqual([]);
    expect([
      util!.counter_name,
      util!.counter_unit,
      util!.counter_volume,
      util!.resource_id,
      util!.timestamp,
    ]).toEqual(['memory_util', '%', 25, 'vm-1', t0 + SECOND]);
    // vm-1 was used up; vm-2 still waits for memory.usage.
    expect(memoryUtil.flush(noFailure)).toEqual([]);

    const perCore = createTransformer('arithmetic', {
      target: { name: 'cpu.per_core', expr: '$(cpu) / ($(cpu).resource_metadata.cpu_number or 1)' },
    });
    perCore.handle(sample({ counter_volume: 90, resource_metadata: { cpu_number: 3 } }));
    perCore.handle(sample({ counter_volume: 7, resource_id: 'vm-2' }));
    expect(perCore.flush(noFailure).map((s) => [s.resource_id, s.counter_name, s.counter_volume])).toEqual([
      ['vm-1', 'cpu.per_core', 30],
      ['vm-2', 'cpu.per_core', 7],
    ]);

    const failures: string[] = [];
    const broken = createTransformer('arithmetic', { target: { expr: '$(a) / $(b).resource_metadata.x' } });
    broken.handle(sample({ counter_name: 'a', counter_volume: 1 }));
    broken.handle(sample({ counter_name: 'b', counter_volume: 1 }));
    expect(broken.flush((error) => failures.push(error.code))).toEqual([]);
    expect(failures).toEqual(['PIPELINE_TRANSFORM_FAILED']);
  });
});

describe('a whole Rocky pipeline', () => {
  it('gives cpu_util, cpu.delta and disk rates next to the raw meters', () => {
    const definition: PipelineDefinition = parsePipelineConfig(
      readFileSync(`${DATA}/pipeline.rocky-with-transformers.yaml`, 'utf8'),
    );
    const pipeline = new SamplePipeline(definition, { onFailure: noFailure });
    const t0 = 1_700_000_000 * SECOND;
    const batch = (t: number, cpu: number, bytes: number) => [
      sample({ counter_volume: cpu, timestamp: t, resource_metadata: { cpu_number: 1 } }),
      sample({
        counter_name: 'disk.device.write.bytes',
        counter_unit: 'B',
        counter_volume: bytes,
        timestamp: t,
        resource_id: 'vm-1-vda',
      }),
    ];
    pipeline.process(batch(t0, 0, 0));
    const outputs = pipeline.process(batch(t0 + 10 * SECOND, 5e9, 10_000));
    const names = outputs.flatMap((o) =>
      o.samples.map((s) => `${o.sink}:${s.counter_name}=${s.counter_volume}`),
    );
    expect(names).toEqual([
      'meter_sink:cpu=5000000000',
      'meter_sink:disk.device.write.bytes=10000',
      'cpu_sink:cpu_util=50',
      'cpu_delta_sink:cpu.delta=5000000000',
      'disk_sink:disk.device.write.bytes.rate=1000',
    ]);
  });
});
