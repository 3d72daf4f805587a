import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RebuildLink, type RebuildStatus, coordinationErrors } from '@granary/coordination';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.ts';
import { COMMANDS } from '../src/commands.ts';
import { cliErrors } from '../src/errors.ts';
import {
  checkedMetricIds,
  metricArguments,
  parseRebuildStart,
  parseSeconds,
  rebuildMetrics,
  renderRebuildResult,
  startOffset,
} from '../src/rebuild.ts';
import { captureStreams } from './support.ts';

const TIMINGS = {
  acceptTimeoutMs: 15_000,
  timeoutMs: 600_000,
  republishUntilAcceptedMs: 3_000,
  republishWhileRunningMs: 10_000,
};

/** A link whose owner answers each metric at once with `answers[metricId]`, or never. */
function answeringLink(answers: Record<string, RebuildStatus['state']>): RebuildLink {
  let listening: ((s: RebuildStatus) => void) | undefined;
  return {
    listen: () => {
      const heard: RebuildStatus[] = [];
      listening = (s) => heard.push(s);
      return {
        next: async (waitMs) => {
          if (heard.length === 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
          return heard.shift();
        },
        close: () => {},
      };
    },
    publish: async ({ id, metricId, partition }) => {
      const state = answers[metricId];
      if (state === 'done') listening?.({ id, metricId, partition, state, records: 7, offset: 70 });
      if (state === 'failed')
        listening?.({ id, metricId, partition, state, error: { code: 'X_BROKEN', message: 'broken' } });
    },
    storedStatus: async () => undefined,
  };
}

describe('rebuildMetrics', () => {
  it('rebuilds each metric in turn; a failed or untaken one does not stop the others', async () => {
    const targets = ['a', 'b', 'c', 'd'].map((metricId, partition) => ({
      metricId,
      partition,
      fromOffset: 5,
    }));
    const advanced: number[] = [];
    const finished: boolean[] = [];
    let ids = 0;

    const results = await rebuildMetrics(
      answeringLink({ a: 'done', b: 'failed', d: 'done' }),
      'granary.measures',
      targets,
      { ...TIMINGS, acceptTimeoutMs: 20, republishUntilAcceptedMs: 5 },
      { advance: (n) => advanced.push(n), done: () => finished.push(true) },
      () => `id-${ids++}`,
    );

    expect(results).toEqual([
      { metricId: 'a', partition: 0, fromOffset: 5, state: 'done', records: 7, offset: 70 },
      {
        metricId: 'b',
        partition: 1,
        fromOffset: 5,
        state: 'failed',
        records: null,
        offset: null,
        error: { code: 'X_BROKEN', message: 'broken' },
      },
      {
        metricId: 'c',
        partition: 2,
        fromOffset: 5,
        state: 'failed',
        records: null,
        offset: null,
        error: {
          code: 'COORDINATION_REBUILD_NOT_ACCEPTED',
          message:
            'No processor answered the rebuild request: no processor owns partition 2 of granary.measures (are processors running?)',
        },
      },
      { metricId: 'd', partition: 3, fromOffset: 5, state: 'done', records: 7, offset: 70 },
    ]);
    expect(advanced).toEqual([1, 1, 1, 1]);
    expect(finished).toEqual([true]);
    expect(results.map((r) => renderRebuildResult('granary.measures', r))).toEqual([
      'rebuilt a from granary.measures[0]@5: 7 records, checkpointed at offset 70',
      'failed  b from granary.measures[1]@5: broken [X_BROKEN]',
      'failed  c from granary.measures[2]@5: No processor answered the rebuild request: no processor owns partition 2 of granary.measures (are processors running?) [COORDINATION_REBUILD_NOT_ACCEPTED]',
      'rebuilt d from granary.measures[3]@5: 7 records, checkpointed at offset 70',
    ]);
  });

  it('stops everything when the link itself fails (Redis lost)', async () => {
    const lost = coordinationErrors('COORDINATION_UNAVAILABLE', 'gone');
    const link: RebuildLink = {
      ...answeringLink({}),
      publish: async () => {
        throw lost;
      },
    };
    const noProgress = { advance: () => {}, done: () => {} };

    await expect(
      rebuildMetrics(link, 't', [{ metricId: 'a', partition: 0, fromOffset: 0 }], TIMINGS, noProgress),
    ).rejects.toBe(lost);
  });
});

describe('rebuild arguments', () => {
  const NOW = Date.parse('2026-11-21T09:00:00Z');

  it('needs exactly one of --from and --from-offset', () => {
    expect(parseRebuildStart('earliest', undefined, NOW)).toEqual({ kind: 'earliest' });
    expect(parseRebuildStart('PT1H', undefined, NOW)).toEqual({ kind: 'time', epochMs: NOW - 3_600_000 });
    expect(parseRebuildStart('2026-11-21T06:00:00', undefined, NOW)).toEqual({
      kind: 'time',
      epochMs: Date.parse('2026-11-21T06:00:00Z'),
    });
    expect(parseRebuildStart(undefined, '42', NOW)).toEqual({ kind: 'offset', offset: 42n });
    for (const [from, offset] of [
      [undefined, undefined],
      ['earliest', '42'],
      ['latest', undefined],
      [undefined, '-1'],
    ] as const) {
      expect(() => parseRebuildStart(from, offset, NOW)).toThrow(/^Invalid command line: /);
    }
  });

  it('takes timeouts as positive seconds', () => {
    expect(parseSeconds('timeout', '600')).toBe(600_000);
    expect(parseSeconds('accept-timeout', '0.5')).toBe(500);
    for (const text of ['0', '-3', '1m', '']) {
      expect(() => parseSeconds('timeout', text)).toThrow(/--timeout must be a positive number of seconds/);
    }
  });

  it('takes metrics from --metric and from a file of one id per line', () => {
    expect(metricArguments(['a'], ' b \n\nc\n')).toEqual(['a', 'b', 'c']);
    expect(() => metricArguments([], '\n')).toThrow('rebuild needs --metric or --metrics-file');
  });

  it("starts at the partition's low offset, the broker's offset at a time, or a given offset not past the end", () => {
    const bounds = { partition: 2, low: '100', high: '500' };
    const atTime = new Map([[2, '321']]);
    expect(startOffset({ kind: 'earliest' }, bounds, undefined)).toBe(100);
    expect(startOffset({ kind: 'time', epochMs: NOW }, bounds, atTime)).toBe(321);
    expect(startOffset({ kind: 'offset', offset: 500n }, bounds, undefined)).toBe(500);
    // Below the low offset the owner simply reads what is retained.
    expect(startOffset({ kind: 'offset', offset: 3n }, bounds, undefined)).toBe(3);
    expect(() => startOffset({ kind: 'offset', offset: 501n }, bounds, undefined)).toThrow(
      '--from-offset 501 is past the end (500) of partition 2',
    );
  });

  it('checks every metric before rebuilding any: unknown and deleted ones are refused', async () => {
    const UPPER = 'A1B2C3D4-0000-4000-8000-000000000001';
    const metrics = new Map([
      [UPPER, { id: UPPER.toLowerCase(), status: 'active' }],
      [UPPER.toLowerCase(), { id: UPPER.toLowerCase(), status: 'active' }],
      ['other', { id: 'other', status: 'active' }],
      ['gone', { id: 'gone', status: 'delete' }],
    ]);
    const lookUp = async (id: string) => metrics.get(id);

    expect(await checkedMetricIds([UPPER, 'other', UPPER.toLowerCase()], lookUp)).toEqual([
      UPPER.toLowerCase(),
      'other',
    ]);
    const unknown = await checkedMetricIds(['other', 'nope'], lookUp).catch((e: unknown) => e);
    expect(cliErrors.is(unknown, 'CLI_METRIC_NOT_FOUND')).toBe(true);
    const deleted = await checkedMetricIds(['gone', 'nope'], lookUp).catch((e: unknown) => e);
    expect(cliErrors.is(deleted, 'CLI_METRIC_DELETED')).toBe(true);
  });
});

describe('granary rebuild command line', () => {
  it('refuses a wrong command line with exit 2 before reading any configuration', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'granary-rebuild-'));
    const emptyFile = join(directory, 'metrics.txt');
    writeFileSync(emptyFile, '\n');
    const cases: Array<[string[], string]> = [
      [['--from', 'earliest'], 'rebuild needs --metric or --metrics-file'],
      [['--metrics-file', emptyFile, '--from', 'earliest'], 'rebuild needs --metric or --metrics-file'],
      [['--metrics-file', join(directory, 'missing'), '--from', 'earliest'], 'cannot read --metrics-file'],
      [['--metric', 'm'], 'exactly one of --from and --from-offset'],
      [['--metric', 'm', '--from', 'yesterday'], "--from 'yesterday' is neither"],
      [['--metric', 'm', '--from-offset', '1', '--timeout', '0'], '--timeout must be a positive number'],
    ];
    for (const [argv, reason] of cases) {
      const streams = captureStreams();
      // No environment: a command that got as far as loading its configuration would fail otherwise.
      expect(await runCli(COMMANDS, ['rebuild', ...argv], streams, { env: {} })).toBe(2);
      expect(streams.err()).toContain(reason);
      expect(streams.err()).toContain('[CLI_USAGE]');
    }
  });
});
