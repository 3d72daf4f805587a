import { randomUUID } from 'node:crypto';
import { type Registry, createRegistry, prometheusInstruments } from '@granary/observability';
import { type TestDatabase, createTestDatabase } from '@granary/testing/database';
import { metricValue } from '@granary/testing/metrics';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Index, createIndex } from '../index.ts';

describe('index metrics', () => {
  let database: TestDatabase;
  let registry: Registry;
  let index: Index;
  beforeAll(async () => {
    database = await createTestDatabase();
    registry = createRegistry('test');
    index = createIndex({
      databaseUrl: database.url,
      maxConnections: 2,
      instruments: prometheusInstruments(registry),
    });
    await index.migrate();
  });
  afterAll(async () => {
    await index?.close();
    await database?.drop();
  });

  const calls = (operation: string, outcome: string) =>
    metricValue(registry, 'granary_index_operations_total', { operation, outcome });

  it('counts and times repository calls by operation and outcome', async () => {
    await index.archivePolicies.create({ name: 'p', definition: [{ granularity: 1 }] });
    const metric = await index.metrics.create({ creator: null, archivePolicyName: 'p' });
    expect(await index.metrics.get(metric.id)).toEqual(metric);
    expect(await index.metrics.get(randomUUID())).toBeUndefined();
    await expect(index.metrics.create({ creator: null, archivePolicyName: 'none' })).rejects.toMatchObject({
      code: 'INDEX_UNKNOWN_ARCHIVE_POLICY',
    });

    expect(await calls('archivePolicies.create', 'ok')).toBe(1);
    expect(await calls('metrics.create', 'ok')).toBe(1);
    expect(await calls('metrics.get', 'ok')).toBe(2);
    expect(await calls('metrics.create', 'INDEX_UNKNOWN_ARCHIVE_POLICY')).toBe(1);
    // metrics.create asks archivePolicyRules itself: that inner call is not a call of the caller's.
    expect(await calls('archivePolicyRules.policyFor', 'ok')).toBe(0);
    const timed = await metricValue(registry, 'granary_index_operation_duration_seconds', {
      operation: 'metrics.get',
      outcome: 'ok',
      le: '+Inf',
    });
    expect(timed).toBe(2);
  });

  it('reads the connection pool at each scrape', async () => {
    const pool = () =>
      Promise.all(
        [
          'granary_index_pool_connections',
          'granary_index_pool_idle_connections',
          'granary_index_pool_waiting_requests',
        ].map((name) => metricValue(registry, name)),
      );
    // Another session locks the metric table: three lookups on a pool of two hold both
    // connections, and the third waits for one.
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE metric IN ACCESS EXCLUSIVE MODE');
      const lookups = Array.from({ length: 3 }, () => index.metrics.get(randomUUID()));
      await expect.poll(pool).toEqual([2, 0, 1]);
      await locker.query('COMMIT');
      await Promise.all(lookups);
      expect(await pool()).toEqual([2, 2, 0]);
    } finally {
      await locker.end();
    }
  });
});
