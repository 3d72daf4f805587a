import { performance } from 'node:perf_hooks';
import { GranaryError } from '@granary/errors';
import type { Logger } from '@granary/observability';
import type { PollingConfig, PollingSource } from './config.ts';
import { pollingErrors } from './errors.ts';
import type { PollingMetrics } from './metrics.ts';
import type { Discovery, PollContext, PolledSample, Pollster } from './model.ts';

/** The samples of one pollster run, stamped with the polling time. */
export interface PolledBatch {
  source: string;
  pollster: string;
  /** When the run started, epoch microseconds: Ceilometer stamps every sample of a run alike. */
  timestamp: number;
  /** Monotonic clock at the same moment, seconds. */
  monotonicTime: number;
  samples: PolledSample[];
}

export interface SchedulerOptions {
  pollsters: readonly Pollster[];
  discoveries: readonly Discovery[];
  /** Hands a run's samples on (sign, encode, produce); awaited, so back-pressure slows polling. */
  publish: (batch: PolledBatch) => Promise<void>;
  /** Scale-out: whether this replica polls a shared resource (static or from a shared discovery). */
  owns?: (resource: string) => boolean;
  metrics: PollingMetrics;
  logger: Logger;
  /** How late a cycle may start before it counts as late (default 1 s). */
  lateToleranceMs?: number;
  /** Pollster runs of one cycle in flight at once (default 4). */
  concurrency?: number;
  /**
   * Start cycles at whole multiples of their interval (epoch time) instead of at once. Replicas
   * sharing resources then poll at the same instants, so a resource moving between them between
   * two instants is polled once per interval: never twice, never skipped.
   */
  alignToInterval?: boolean;
}

interface Run {
  source: PollingSource;
  pollster: Pollster;
  resources: string[];
}

/** One periodic task per distinct interval, as Ceilometer's PollingTask. */
interface Task {
  interval: number;
  timer: NodeJS.Timeout | undefined;
  /** When the next cycle is due, epoch ms. */
  due: number;
  running: Promise<void> | undefined;
  /** When the cycle in flight started, epoch ms. */
  runningSince: number;
}

const shuffle = <T>(items: T[]): T[] => {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
};

/**
 * Runs the pollsters of polling.yaml on their intervals (Ceilometer's AgentManager): per cycle,
 * sources in random order, resources from the static list and discovery (or the pollster's default
 * discovery), each resource polled once per pollster per cycle, blacklisted resources skipped.
 * A failing pollster never stops the others. Cycles of one interval never overlap: a cycle still
 * running when the next is due makes that next one skipped, and both are counted.
 */
export class PollingScheduler {
  private config: PollingConfig;
  private readonly tasks = new Map<number, Task>();
  /** Per source, per pollster (by identity: host and SNMP pollsters share meter names). */
  private readonly blacklist = new Map<string, Map<Pollster, Set<string>>>();
  private readonly discoveries: Map<string, Discovery>;
  /** Cycles running, including those of intervals a reload removed; stop() waits for them all. */
  private readonly inFlight = new Set<Promise<void>>();
  private started = false;

  constructor(
    config: PollingConfig,
    private readonly options: SchedulerOptions,
  ) {
    this.config = config;
    this.discoveries = new Map(options.discoveries.map((d) => [d.name, d]));
  }

  /** Start every interval's task; each runs at once, then on its interval. */
  start(): void {
    this.started = true;
    this.syncTasks();
  }

  /**
   * Use a new configuration from the next cycle on. Intervals that stay keep their schedule, so
   * no cycle is dropped; new intervals start now; removed ones stop after any cycle in flight.
   */
  reload(config: PollingConfig): void {
    this.config = config;
    if (this.started) this.syncTasks();
  }

  /** Run one cycle of `interval` now, outside the schedule, which it leaves as it is (tests). */
  pollNow(interval: number): Promise<void> {
    return this.cycle(interval);
  }

  /**
   * Intervals whose cycle in flight has run for more than `factor` intervals: a pollster that
   * hangs despite its timeouts. The liveness probe reports them, so the process gets restarted.
   */
  stalledIntervals(factor = 3): number[] {
    const now = Date.now();
    return [...this.tasks.values()]
      .filter((task) => task.running && now - task.runningSince > factor * task.interval * 1000)
      .map((task) => task.interval);
  }

  /** Stop scheduling and wait for the cycles in flight. */
  async stop(): Promise<void> {
    this.started = false;
    for (const task of this.tasks.values()) clearTimeout(task.timer);
    this.tasks.clear();
    await Promise.all(this.inFlight);
  }

  private syncTasks(): void {
    const intervals = new Set(this.config.sources.map((s) => s.interval));
    for (const [interval, task] of this.tasks) {
      if (intervals.has(interval)) continue;
      clearTimeout(task.timer);
      this.tasks.delete(interval);
    }
    for (const interval of intervals) {
      if (this.tasks.has(interval)) continue;
      const now = Date.now();
      const intervalMs = interval * 1000;
      const due = this.options.alignToInterval ? Math.ceil(now / intervalMs) * intervalMs : now;
      const task: Task = { interval, timer: undefined, due, running: undefined, runningSince: 0 };
      this.tasks.set(interval, task);
      if (due === now) this.fire(task);
      else task.timer = setTimeout(() => this.fire(task), due - now);
    }
  }

  private fire(task: Task): void {
    if (this.tasks.get(task.interval) !== task) return;
    const now = Date.now();
    const intervalMs = task.interval * 1000;
    const label = { interval: String(task.interval) };
    if (task.running) {
      this.options.metrics.cyclesSkipped.inc(label);
    } else {
      if (now - task.due > (this.options.lateToleranceMs ?? 1000)) this.options.metrics.cyclesLate.inc(label);
      task.runningSince = now;
      const running = this.cycle(task.interval)
        // Pollster and discovery errors are handled inside; anything else is a bug, logged here once.
        .catch((error: unknown) =>
          this.options.logger.error({ err: error, interval: task.interval }, 'polling cycle failed'),
        )
        .finally(() => {
          task.running = undefined;
          this.inFlight.delete(running);
          if (Date.now() - task.runningSince > intervalMs) this.options.metrics.cyclesOverrun.inc(label);
        });
      task.running = running;
      this.inFlight.add(running);
    }
    // Keep the cadence: the next due time is a whole number of intervals after the first.
    task.due += intervalMs;
    while (task.due <= now) {
      this.options.metrics.cyclesSkipped.inc(label);
      task.due += intervalMs;
    }
    task.timer = setTimeout(() => this.fire(task), task.due - now);
  }

  private async cycle(interval: number): Promise<void> {
    const context: PollContext = { cache: new Map() };
    const discovered = new Map<string, Promise<string[]>>();
    const polledThisCycle = new Map<Pollster, Set<string>>();
    const runs: Run[] = [];
    const sources = shuffle(this.config.sources.filter((s) => s.interval === interval));
    for (const source of sources) {
      for (const pollster of this.options.pollsters) {
        if (!source.meters.matches(pollster.name)) continue;
        const resources = await this.resourcesFor(source, pollster, discovered);
        const polled = polledThisCycle.get(pollster) ?? new Set<string>();
        polledThisCycle.set(pollster, polled);
        const blacklisted = this.blacklist.get(source.name)?.get(pollster);
        const fresh = [...new Set(resources)].filter((r) => !polled.has(r) && !blacklisted?.has(r));
        if (fresh.length === 0) continue;
        for (const resource of fresh) polled.add(resource);
        runs.push({ source, pollster, resources: fresh });
      }
    }
    let next = 0;
    const worker = async () => {
      while (next < runs.length) await this.poll(runs[next++]!, context);
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency ?? 4, runs.length) }, worker));
  }

  private async resourcesFor(
    source: PollingSource,
    pollster: Pollster,
    discovered: Map<string, Promise<string[]>>,
  ): Promise<string[]> {
    const owns = this.options.owns ?? (() => true);
    const discover = async (entries: readonly string[]) => {
      const found: string[] = [];
      for (const entry of entries) {
        let result = discovered.get(entry);
        if (!result) {
          result = this.discover(source, entry);
          discovered.set(entry, result);
        }
        found.push(...(await result));
      }
      return found;
    };
    const handles = (resource: string) => pollster.handles?.(resource) ?? true;
    const resources = [...source.resources.filter(owns), ...(await discover(source.discovery))].filter(
      handles,
    );
    if (resources.length > 0 || !pollster.defaultDiscovery) return resources;
    return (await discover([pollster.defaultDiscovery])).filter(handles);
  }

  /** Resources of one `name[:parameter]` discovery entry; a failing discovery finds nothing this cycle. */
  private async discover(source: PollingSource, entry: string): Promise<string[]> {
    const separator = entry.indexOf(':');
    const name = separator < 0 ? entry : entry.slice(0, separator);
    const parameter = separator < 0 ? undefined : entry.slice(separator + 1);
    const discovery = this.discoveries.get(name);
    try {
      if (!discovery) throw pollingErrors('POLLING_UNKNOWN_DISCOVERY', name);
      const found = await discovery.discover(parameter);
      return discovery.shared ? found.filter(this.options.owns ?? (() => true)) : found;
    } catch (error) {
      const code = error instanceof GranaryError ? error.code : 'UNEXPECTED';
      this.options.metrics.errors.inc({ source: source.name, pollster: `discovery:${name}`, code });
      this.options.logger.error({ err: error, source: source.name, discovery: entry }, 'discovery failed');
      return [];
    }
  }

  private async poll({ source, pollster, resources }: Run, context: PollContext): Promise<void> {
    const labels = { source: source.name, pollster: pollster.name };
    const timestamp = Date.now() * 1000;
    const monotonicTime = performance.now() / 1000;
    this.options.metrics.polls.inc(labels);
    try {
      const samples = await pollster.poll(resources, context);
      if (samples.length > 0) {
        await this.options.publish({
          source: source.name,
          pollster: pollster.name,
          timestamp,
          monotonicTime,
          samples,
        });
      }
      this.options.metrics.samples.inc(labels, samples.length);
      this.options.metrics.lastSuccess.set(labels, Date.now() / 1000);
    } catch (error) {
      const code = error instanceof GranaryError ? error.code : 'UNEXPECTED';
      this.options.metrics.errors.inc({ ...labels, code });
      if (pollingErrors.is(error, 'POLLING_PERMANENT_FAILURE')) {
        const failed = (error.details?.resources as string[] | undefined) ?? resources;
        const bySource = this.blacklist.get(source.name) ?? new Map<Pollster, Set<string>>();
        const blacklisted = bySource.get(pollster) ?? new Set<string>();
        for (const resource of failed) blacklisted.add(resource);
        bySource.set(pollster, blacklisted);
        this.blacklist.set(source.name, bySource);
        this.options.metrics.blacklisted.set(labels, blacklisted.size);
        this.options.logger.error(
          { err: error, ...labels, resources: failed },
          'pollster failed permanently; resources blacklisted until restart',
        );
      } else {
        this.options.logger.error({ err: error, ...labels, resources }, 'pollster run failed');
      }
    }
  }
}
