import { type Counter, type Histogram, type Instruments, timedOutcome } from '@granary/observability';
import type pg from 'pg';

type OperationLabel = 'operation' | 'outcome';

/**
 * The index's metrics: every repository call counted and timed by operation (`metrics.get`,
 * `resources.search`: method names, a fixed set) and outcome (`ok` or the index error code), and
 * the connection pool read at each scrape.
 */
export class IndexInstruments {
  private readonly calls: Counter<OperationLabel>;
  private readonly durations: Histogram<OperationLabel>;

  constructor(instruments: Instruments, pool: pg.Pool) {
    const labelNames = ['operation', 'outcome'] as const;
    this.calls = instruments.counter({
      name: 'granary_index_operations_total',
      help: 'Index repository calls, by operation (repository.method) and outcome (ok or the index error code)',
      labelNames,
    });
    this.durations = instruments.histogram({
      name: 'granary_index_operation_duration_seconds',
      help: 'Index repository calls from call to answer (pool wait and retried transactions included), by operation and outcome',
      labelNames,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    instruments.gauge({
      name: 'granary_index_pool_connections',
      help: 'PostgreSQL connections the index pool holds, busy or idle',
      collect: () => pool.totalCount,
    });
    instruments.gauge({
      name: 'granary_index_pool_idle_connections',
      help: 'PostgreSQL connections of the index pool waiting for a query',
      collect: () => pool.idleCount,
    });
    instruments.gauge({
      name: 'granary_index_pool_waiting_requests',
      help: 'Queries and transactions waiting for a connection of the index pool (it is full)',
      collect: () => pool.waitingCount,
    });
  }

  /**
   * `repository` with each method's promise counted and timed as `name.method`. Calls a method
   * makes to its own repository are not counted again: the methods run on the repository itself.
   */
  measured<Repository extends object>(name: string, repository: Repository): Repository {
    const wrappers = new Map<PropertyKey, unknown>();
    return new Proxy(repository, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        let wrapper = wrappers.get(property);
        if (!wrapper) {
          wrapper = this.timed(`${name}.${property}`, value.bind(target));
          wrappers.set(property, wrapper);
        }
        return wrapper;
      },
    });
  }

  private timed(operation: string, method: (...args: unknown[]) => unknown) {
    const record = (outcome: string, seconds: number) => {
      const labels = { operation, outcome };
      this.calls.inc(labels);
      this.durations.observe(labels, seconds);
    };
    return (...args: unknown[]) => {
      const startedAt = performance.now();
      const result = method(...args);
      if (!(result instanceof Promise)) return result;
      return timedOutcome(() => result, record, undefined, startedAt);
    };
  }
}
