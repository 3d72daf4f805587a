import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type RebuildLink,
  type RebuildRequest,
  type RebuildStatus,
  type StatusListener,
  coordinationErrors,
} from '@granary/coordination';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.ts';
import { COMMANDS } from '../src/commands.ts';
import { cliErrors } from '../src/errors.ts';
import {
  awaitRebuild,
  checkedMetricIds,
  metricArguments,
  parseRebuildStart,
  parseSeconds,
  rebuildMetrics,
  renderRebuildResult,
  startOffset,
} from '../src/rebuild.ts';
import { captureStreams } from './support.ts';

const request: RebuildRequest = {
  id: 'request-1',
  topic: 'granary.measures',
  partition: 3,
  metricId: 'metric-1',
  fromOffset: 120,
};
const TIMINGS = {
  acceptTimeoutMs: 15_000,
  timeoutMs: 600_000,
  republishUntilAcceptedMs: 3_000,
  republishWhileRunningMs: 10_000,
};
const status = (state: RebuildStatus['state'], extra: Partial<RebuildStatus> = {}): RebuildStatus => ({
  id: request.id,
  metricId: request.metricId,
  partition: request.partition,
  state,
  ...extra,
});

interface OwnerEvent {
  /** Fake time the owner published and stored the status. */
  at: number;
  status: RebuildStatus;
  /** False when the publication was missed (e.g. the subscriber was reconnecting): only stored. */
  heard?: boolean;
}

/**
 * An owner scripted over a fake clock. Waiting for a status moves the clock to the next heard
 * event, or by the whole wait; the stored status is the latest event at the current time.
 */
class ScriptedLink implements RebuildLink {
  time = 0;
  readonly publications: number[] = [];
  private readonly delivered = new Set<OwnerEvent>();

  constructor(private readonly events: OwnerEvent[]) {}

  readonly now = () => this.time;

  listen(): StatusListener {
    return {
      next: async (waitMs) => {
        expect(waitMs).toBeGreaterThanOrEqual(0);
        const until = this.time + waitMs;
        const event = this.events.find((e) => e.heard !== false && !this.delivered.has(e) && e.at <= until);
        if (!event) {
          this.time = until;
          return undefined;
        }
        this.delivered.add(event);
        this.time = Math.max(this.time, event.at);
        return event.status;
      },
      close: () => {},
    };
  }

  async publish(published: RebuildRequest): Promise<void> {
    expect(published).toEqual(request);
    this.publications.push(this.time);
  }

  async storedStatus(id: string): Promise<RebuildStatus | undefined> {
    expect(id).toBe(request.id);
    return this.events.filter((e) => e.at <= this.time).at(-1)?.status;
  }
}

const wait = (link: ScriptedLink, timings = TIMINGS) => awaitRebuild(link, request, timings, link.now);

describe('awaitRebuild', () => {
  it('publishes once when the owner answers at once, and returns its final status', async () => {
    const done = status('done', { records: 40, offset: 900 });
    const link = new ScriptedLink([
      { at: 200, status: status('accepted') },
      { at: 5_000, status: done },
    ]);

    expect(await wait(link)).toEqual(done);
    expect(link.publications).toEqual([0]);
    expect(link.time).toBe(5_000);
  });

  it('publishes again every 3 s until accepted, then every 10 s while the owner works', async () => {
    const link = new ScriptedLink([
      { at: 7_000, status: status('accepted') },
      { at: 31_000, status: status('done', { records: 1, offset: 2 }) },
    ]);

    expect((await wait(link)).state).toBe('done');
    expect(link.publications).toEqual([0, 3_000, 6_000, 17_000, 27_000]);
  });

  it('reads the stored status at each publication, for statuses whose publication was missed', async () => {
    const link = new ScriptedLink([
      { at: 100, status: status('accepted'), heard: false },
      { at: 8_000, status: status('done', { records: 5, offset: 10 }), heard: false },
    ]);

    expect(await wait(link)).toEqual(status('done', { records: 5, offset: 10 }));
    // Accepted seen at the 3 s publication; done at the next, 10 s later.
    expect(link.publications).toEqual([0, 3_000, 13_000]);
  });

  it('returns a failed status with the owner’s error', async () => {
    const failed = status('failed', { error: { code: 'STORAGE_UNAVAILABLE', message: 'S3 down' } });
    const link = new ScriptedLink([
      { at: 10, status: status('accepted') },
      { at: 20, status: failed },
    ]);

    expect(await wait(link)).toEqual(failed);
  });

  it('gives up when no processor answers within the accept timeout', async () => {
    const link = new ScriptedLink([]);

    const error = await wait(link).catch((e: unknown) => e);

    expect(cliErrors.is(error, 'CLI_REBUILD_NOT_ACCEPTED')).toBe(true);
    expect((error as Error).message).toContain(
      'no processor owns partition 3 of granary.measures (are processors running?)',
    );
    expect(link.time).toBe(15_000);
    expect(link.publications).toEqual([0, 3_000, 6_000, 9_000, 12_000]);
  });

  it('gives up when the owner accepted but does not finish in time, counting from the first acceptance', async () => {
    // A restarted owner accepts the re-published request again; the timeout still runs from 1 s.
    const link = new ScriptedLink([
      { at: 1_000, status: status('accepted') },
      { at: 12_000, status: status('accepted') },
    ]);

    const error = await wait(link, { ...TIMINGS, timeoutMs: 30_000 }).catch((e: unknown) => e);

    expect(cliErrors.is(error, 'CLI_REBUILD_TIMEOUT')).toBe(true);
    expect(link.time).toBe(31_000);
    expect(link.publications).toEqual([0, 11_000, 21_000]);
  });
});

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
          code: 'CLI_REBUILD_NOT_ACCEPTED',
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
      'failed  c from granary.measures[2]@5: No processor answered the rebuild request: no processor owns partition 2 of granary.measures (are processors running?) [CLI_REBUILD_NOT_ACCEPTED]',
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
