import type { CounterType } from '@granary/schema';

/** What a pollster measures; the scheduler adds time, source and identity, the poller signs it. */
export interface PolledSample {
  name: string;
  type: CounterType;
  unit: string;
  volume: number;
  resourceId: string;
  userId?: string | null;
  projectId?: string | null;
  /** Resource attributes at polling time; JSON-serialisable. */
  metadata?: Record<string, unknown>;
  /** Origin of the sample when the pollster fixes it (Ceilometer's hardware pollsters: `hardware`). */
  source?: string;
}

export interface PollContext {
  /**
   * Shared by every pollster of one cycle (Ceilometer's `cache`), so pollsters reading the same
   * source — one /proc snapshot, one SNMP walk, one scrape — read it once per cycle.
   */
  cache: Map<string, Promise<unknown>>;
}

/** One meter family; the source's meter patterns select pollsters by `name`. */
export interface Pollster {
  readonly name: string;
  /**
   * Which resources this pollster can poll (`snmp://…` URLs, host names…); others are not handed
   * to it. Absent: all.
   */
  handles?(resource: string): boolean;
  /** Discovery used when the source's resources and discoveries give none it handles. */
  readonly defaultDiscovery?: string;
  /**
   * Samples of `resources`. Throw POLLING_PERMANENT_FAILURE for resources that can never be
   * polled (they are blacklisted for this source and pollster); any other error fails this run only.
   */
  poll(resources: readonly string[], context: PollContext): Promise<PolledSample[]>;
}

/** A discovery plugin, named in polling.yaml as `name[:parameter]`. */
export interface Discovery {
  readonly name: string;
  /**
   * True when every replica discovers the same resources, which must then be split among
   * replicas; false when each replica discovers its own (its local node).
   */
  readonly shared: boolean;
  discover(parameter: string | undefined): Promise<string[]>;
}

/** Cache a cycle-wide read under `key`: the first pollster asking performs it, the others await it. */
export function cachedRead<T>(context: PollContext, key: string, read: () => Promise<T>): Promise<T> {
  let entry = context.cache.get(key) as Promise<T> | undefined;
  if (!entry) {
    entry = read();
    context.cache.set(key, entry);
  }
  return entry;
}
