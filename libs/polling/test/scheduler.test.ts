import { createLogger, createRegistry, prometheusInstruments } from '@granary/observability';
import { metricValue } from '@granary/testing/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type Discovery,
  type PolledBatch,
  type PolledSample,
  PollingScheduler,
  type Pollster,
  createPollingMetrics,
  parsePollingConfig,
  pollingErrors,
} from '../index.ts';

const logger = createLogger('scheduler-test', 'silent');

/** A pollster that records what it was asked and answers one sample per resource. */
function recordingPollster(
  name: string,
  behaviour: (resources: readonly string[]) => Promise<void> = async () => {},
) {
  const calls: string[][] = [];
  const pollster: Pollster = {
    name,
    defaultDiscovery: 'fallback',
    async poll(resources) {
      calls.push([...resources]);
      await behaviour(resources);
      return resources.map(
        (resourceId): PolledSample => ({ name, type: 'gauge', unit: 'x', volume: 1, resourceId }),
      );
    },
  };
  return { pollster, calls };
}

const discovery = (name: string, found: string[], shared = true): Discovery => ({
  name,
  shared,
  discover: async () => found,
});

/** One source polling `cpu` on resource `r` every 10 s. */
const CPU_EVERY_10_S = 'sources: [{name: s, interval: 10, meters: ["cpu"], resources: ["r"]}]';

/** Cycles of the 10 s interval counted as late, skipped or overrun. */
const cycles10s = (registry: ReturnType<typeof createRegistry>, counted: 'late' | 'skipped' | 'overrun') =>
  metricValue(registry, `granary_poller_cycles_${counted}_total`, { interval: '10' });

function setUp(
  yaml: string,
  pollsters: Pollster[],
  extra: { owns?: (r: string) => boolean; alignToInterval?: boolean } = {},
) {
  const registry = createRegistry('scheduler-test');
  const metrics = createPollingMetrics(prometheusInstruments(registry));
  const published: PolledBatch[] = [];
  const scheduler = new PollingScheduler(parsePollingConfig(yaml), {
    pollsters,
    discoveries: [
      discovery('fallback', ['default-1']),
      discovery('listed', ['d-1', 'd-2']),
      discovery('mine', ['local'], false),
    ],
    publish: async (batch) => {
      published.push(batch);
    },
    metrics,
    logger,
    ...extra,
  });
  return { scheduler, registry, published };
}

describe('PollingScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('polls matching pollsters of each source over static, discovered and default-discovered resources', async () => {
    const cpu = recordingPollster('hardware.cpu.user');
    const mem = recordingPollster('hardware.memory.used');
    const other = recordingPollster('network.incoming.bytes');
    const { scheduler, published } = setUp(
      [
        'sources:',
        '  - name: static',
        '    interval: 60',
        '    meters: ["hardware.cpu.*"]',
        '    resources: ["r-1", "r-2"]',
        '    discovery: ["listed"]',
        '  - name: fallback',
        '    interval: 60',
        '    meters: ["hardware.memory.*"]',
      ].join('\n'),
      [cpu.pollster, mem.pollster, other.pollster],
    );
    await scheduler.pollNow(60);
    expect(cpu.calls).toEqual([['r-1', 'r-2', 'd-1', 'd-2']]);
    expect(mem.calls).toEqual([['default-1']]);
    expect(other.calls).toEqual([]);
    const batch = published.find((b) => b.pollster === 'hardware.cpu.user')!;
    expect(batch.source).toBe('static');
    expect(batch.timestamp).toBe(Date.UTC(2026, 0, 1) * 1000);
    expect(batch.samples.map((s) => s.resourceId)).toEqual(['r-1', 'r-2', 'd-1', 'd-2']);
  });

  it('polls a resource once per pollster per cycle even when several sources list it', async () => {
    const cpu = recordingPollster('cpu');
    const { scheduler } = setUp(
      [
        'sources:',
        '  - {name: a, interval: 60, meters: ["cpu"], resources: ["r-1", "r-2"]}',
        '  - {name: b, interval: 60, meters: ["*"], resources: ["r-2", "r-3"]}',
      ].join('\n'),
      [cpu.pollster],
    );
    await scheduler.pollNow(60);
    expect(cpu.calls.flat().sort()).toEqual(['r-1', 'r-2', 'r-3']);
  });

  it('keeps polling the other pollsters when one fails, and counts the failure', async () => {
    const broken = recordingPollster('a.broken', async () => {
      throw pollingErrors('POLLING_SOURCE_FAILED', 'connection refused');
    });
    const healthy = recordingPollster('a.healthy');
    const { scheduler, registry } = setUp(
      'sources: [{name: s, interval: 60, meters: ["a.*"], resources: ["r"]}]',
      [broken.pollster, healthy.pollster],
    );
    await scheduler.pollNow(60);
    await scheduler.pollNow(60);
    expect(healthy.calls).toHaveLength(2);
    expect(broken.calls).toHaveLength(2);
    expect(
      await metricValue(registry, 'granary_poller_errors_total', {
        pollster: 'a.broken',
        code: 'POLLING_SOURCE_FAILED',
      }),
    ).toBe(2);
    expect(await metricValue(registry, 'granary_poller_samples_total', { pollster: 'a.healthy' })).toBe(2);
    expect(await metricValue(registry, 'granary_poller_polls_total', { pollster: 'a.broken' })).toBe(2);
    expect(
      await metricValue(registry, 'granary_poller_last_success_timestamp_seconds', { pollster: 'a.healthy' }),
    ).toBe(Date.UTC(2026, 0, 1) / 1000);
  });

  it('blacklists resources of a permanent error for that source and pollster only', async () => {
    const picky = recordingPollster('m', async (resources) => {
      if (resources.includes('bad')) {
        throw pollingErrors('POLLING_PERMANENT_FAILURE', 'unsupported', { details: { resources: ['bad'] } });
      }
    });
    const { scheduler, registry } = setUp(
      [
        'sources:',
        '  - {name: first, interval: 60, meters: ["m"], resources: ["good", "bad"]}',
        '  - {name: second, interval: 300, meters: ["m"], resources: ["bad"]}',
      ].join('\n'),
      [picky.pollster],
    );
    await scheduler.pollNow(60);
    await scheduler.pollNow(60);
    await scheduler.pollNow(300);
    expect(picky.calls).toEqual([['good', 'bad'], ['good'], ['bad']]);
    expect(
      await metricValue(registry, 'granary_poller_blacklisted_resources', { source: 'first', pollster: 'm' }),
    ).toBe(1);
  });

  it('splits shared resources with the ownership filter but keeps local discoveries', async () => {
    const cpu = recordingPollster('cpu');
    const { scheduler } = setUp(
      'sources: [{name: s, interval: 60, meters: ["cpu"], resources: ["r-1", "r-2"], discovery: ["listed", "mine"]}]',
      [cpu.pollster],
      { owns: (resource) => resource.endsWith('1') },
    );
    await scheduler.pollNow(60);
    expect(cpu.calls).toEqual([['r-1', 'd-1', 'local']]);
  });

  it('runs at once and then on the interval cadence', async () => {
    const cpu = recordingPollster('cpu');
    const { scheduler, registry } = setUp(CPU_EVERY_10_S, [cpu.pollster]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(cpu.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(cpu.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(cpu.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(cpu.calls).toHaveLength(5);
    expect(await cycles10s(registry, 'late')).toBe(0);
    await scheduler.stop();
  });

  it('aligned, starts cycles at whole multiples of the interval', async () => {
    vi.setSystemTime(Date.UTC(2026, 0, 1, 0, 0, 3, 500));
    const { scheduler, registry, published } = setUp(CPU_EVERY_10_S, [recordingPollster('cpu').pollster], {
      alignToInterval: true,
    });
    const starts = () => published.map((batch) => batch.timestamp / 1000);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(6_499);
    expect(starts()).toEqual([]);
    await vi.advanceTimersByTimeAsync(20_001);
    expect(starts()).toEqual([
      Date.UTC(2026, 0, 1, 0, 0, 10),
      Date.UTC(2026, 0, 1, 0, 0, 20),
      Date.UTC(2026, 0, 1, 0, 0, 30),
    ]);
    expect(await cycles10s(registry, 'late')).toBe(0);
    await scheduler.stop();
  });

  it('counts a cycle that starts late', async () => {
    const cpu = recordingPollster('cpu');
    const { scheduler, registry } = setUp(CPU_EVERY_10_S, [cpu.pollster]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(0);
    // The wall clock jumps ahead of the timers, as when the event loop was blocked.
    vi.setSystemTime(Date.now() + 3_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(cpu.calls).toHaveLength(2);
    expect(await cycles10s(registry, 'late')).toBe(1);
    await scheduler.stop();
  });

  it('never overlaps cycles of one interval: an overrunning cycle is counted and the next skipped', async () => {
    const slow = recordingPollster('cpu', () => new Promise((resolve) => setTimeout(resolve, 15_000)));
    const { scheduler, registry } = setUp(CPU_EVERY_10_S, [slow.pollster]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(slow.calls).toHaveLength(2);
    expect(await cycles10s(registry, 'skipped')).toBe(1);
    expect(await cycles10s(registry, 'overrun')).toBe(1);
    expect(scheduler.stalledIntervals()).toEqual([]);
    expect(scheduler.stalledIntervals(1)).toEqual([]);
    await vi.advanceTimersByTimeAsync(11_000);
    expect(scheduler.stalledIntervals(1)).toEqual([10]);
    await vi.advanceTimersByTimeAsync(4_000);
    await scheduler.stop();
  });

  it('reloads without dropping or adding a cycle of an unchanged interval, and starts new intervals', async () => {
    const cpu = recordingPollster('cpu');
    const mem = recordingPollster('mem');
    const { scheduler } = setUp(CPU_EVERY_10_S, [cpu.pollster, mem.pollster]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(5_000);
    scheduler.reload(
      parsePollingConfig(
        [
          'sources:',
          '  - {name: s, interval: 10, meters: ["mem"], resources: ["r"]}',
          '  - {name: t, interval: 30, meters: ["cpu"], resources: ["q"]}',
        ].join('\n'),
      ),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(cpu.calls).toEqual([['r'], ['q']]);
    expect(mem.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(mem.calls).toEqual([['r']]);
    await scheduler.stop();
  });
});

describe('PollingScheduler with pollsters sharing a meter name', () => {
  it('hands each pollster only the resources it handles, falling back to its default discovery', async () => {
    const local = recordingPollster('hardware.cpu.user');
    const remote = recordingPollster('hardware.cpu.user');
    const { scheduler } = setUp(
      [
        'sources:',
        '  - {name: snmp, interval: 60, meters: ["hardware.*"], resources: ["snmp://h1", "snmp://h2"]}',
        '  - {name: local, interval: 60, meters: ["hardware.*"]}',
      ].join('\n'),
      [
        { ...local.pollster, handles: (r) => !r.includes('://') },
        { ...remote.pollster, handles: (r) => r.startsWith('snmp://') },
      ],
    );
    await scheduler.pollNow(60);
    expect(remote.calls).toEqual([['snmp://h1', 'snmp://h2']]);
    // Both sources fall back to the default discovery for the local pollster, which polls it once.
    expect(local.calls).toEqual([['default-1']]);
  });
});
