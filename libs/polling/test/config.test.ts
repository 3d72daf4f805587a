import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MeterFilter, fnmatchToRegExp, parsePollingConfig, pollingErrors } from '../index.ts';

const reference = (file: string) => readFileSync(`/work/shared/reference/ceilometer-data/${file}`, 'utf8');

function problemOf(text: string): { line: number; message: string } {
  try {
    parsePollingConfig(text, 'polling.yaml');
  } catch (error) {
    if (!pollingErrors.is(error, 'POLLING_CONFIG_INVALID')) throw error;
    return { line: error.details?.line as number, message: error.message };
  }
  throw new Error('expected the configuration to be refused');
}

describe('parsePollingConfig', () => {
  it("reads Ceilometer's own polling.yaml files", () => {
    const some = parsePollingConfig(reference('polling.yaml'));
    expect(some.sources).toHaveLength(1);
    expect(some.sources[0]).toMatchObject({
      name: 'some_pollsters',
      interval: 300,
      resources: [],
      discovery: [],
    });
    expect(some.sources[0]!.meters.matches('cpu')).toBe(true);
    expect(some.sources[0]!.meters.matches('hardware.cpu.load.1min')).toBe(false);
    const all = parsePollingConfig(reference('polling_all.yaml'));
    expect(all.sources[0]!.meters.matches('anything.at.all')).toBe(true);
  });

  it('reads resources and discovery', () => {
    const config = parsePollingConfig(
      [
        'sources:',
        '  - name: snmp',
        '    interval: 60',
        '    meters: ["*", "!hardware.cpu.util"]',
        '    resources: ["snmp://public@10.0.0.5"]',
        '    discovery: ["local_node", "endpoint:network"]',
      ].join('\n'),
    );
    expect(config.sources[0]).toMatchObject({
      resources: ['snmp://public@10.0.0.5'],
      discovery: ['local_node', 'endpoint:network'],
    });
  });

  it('refuses malformed files with the line at fault', () => {
    const base = ['sources:', '  - name: a', '    interval: 60', '    meters: ["*"]'];
    const cases: Array<[string[], number, RegExp]> = [
      [['sources:', '  - name: a', '    interval: 60: 5', '    meters: ["*"]'], 3, /Nested mappings/],
      [[...base.slice(0, 2), '    interval: 0', base[3]!], 3, /positive integer/],
      [[...base.slice(0, 2), '    interval: "60"', base[3]!], 3, /positive integer/],
      [[...base.slice(0, 3), '    meters: []'], 4, /must not be empty/],
      [[...base.slice(0, 3), '    meters: ["cpu", "!disk.*"]'], 4, /both included and excluded/],
      [[...base.slice(0, 3), '    meters: ["*", "cpu"]'], 4, /cannot be mixed/],
      [[...base.slice(0, 3)], 2, /"meters" is required/],
      [[...base, '    resourcs: ["x"]'], 5, /unknown source key "resourcs"/],
      [[...base, '  - name: a', '    interval: 5', '    meters: ["*"]'], 5, /duplicate source name/],
      [[...base, '    resources: [1]'], 5, /non-empty strings/],
      [['sources: {}'], 1, /must be a list/],
      [['- 1'], 1, /mapping/],
    ];
    for (const [lines, line, message] of cases) {
      const problem = problemOf(lines.join('\n'));
      expect(problem.line, lines.join('\n')).toBe(line);
      expect(problem.message).toMatch(message);
      expect(problem.message).toContain(`polling.yaml:${line}:`);
    }
  });
});

describe('MeterFilter', () => {
  it('follows Ceilometer: exclusions deny, inclusions allow, exclusions alone allow the rest', () => {
    const included = new MeterFilter(['hardware.*', 'cpu']);
    expect(included.matches('hardware.memory.used')).toBe(true);
    expect(included.matches('cpu')).toBe(true);
    expect(included.matches('cpu_util')).toBe(false);
    const excluded = new MeterFilter(['!disk.*', '!network.incoming.?ytes']);
    expect(excluded.matches('disk.device.read.bytes')).toBe(false);
    expect(excluded.matches('network.incoming.bytes')).toBe(false);
    expect(excluded.matches('memory')).toBe(true);
    const wildcardWithExclusion = new MeterFilter(['*', '!hardware.cpu.util']);
    expect(wildcardWithExclusion.matches('hardware.cpu.util')).toBe(false);
    expect(wildcardWithExclusion.matches('hardware.cpu.user')).toBe(true);
  });

  it('translates fnmatch patterns like Python, escaping regular expression characters', () => {
    expect(fnmatchToRegExp('disk.[rw]*').test('disk.read')).toBe(true);
    expect(fnmatchToRegExp('disk.[!rw]*').test('disk.read')).toBe(false);
    expect(fnmatchToRegExp('a.b').test('aXb')).toBe(false);
    expect(fnmatchToRegExp('a(b)+').test('a(b)+')).toBe(true);
    expect(fnmatchToRegExp('[').test('[')).toBe(true);
  });
});
