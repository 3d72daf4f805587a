/**
 * Index benchmark: resource creates/s through the repository, metric look-ups by (resource, name)/s
 * and search latency over 100,000 resources. Runs in a throw-away database on the server given by
 * DATABASE_URL (as `make bench` sets it from .granary/infra.env) or --database-url=….
 *
 *   npm run bench -w @granary/index -- --database-url=postgres://granary@127.0.0.1:25432/granary
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DatabaseSection, loadConfig } from '@granary/config';
import { Type } from '@sinclair/typebox';
import pg from 'pg';
import { type Index, createIndex, parseResourceFilter } from '../index.ts';

const TOTAL_RESOURCES = 100_000;
const CREATED_THROUGH_REPOSITORY = 10_000;
const LOOKUPS = 20_000;
const SEARCH_RUNS = 30;
const CONCURRENCY = 8;

const adminUrl =
  process.argv.find((a) => a.startsWith('--database-url='))?.slice('--database-url='.length) ??
  loadConfig(Type.Object({ database: DatabaseSection }), { file: '' }).database.url;

/** Runs `task(i)` for i in [0, count) with a fixed number in flight. */
async function inParallel(count: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

const hostOf = (i: number) => `compute-${i}`;
const flavorOf = (i: number) => ['small', 'medium', 'large'][i % 3]!;

async function createThroughRepository(index: Index): Promise<number> {
  const started = performance.now();
  await inParallel(CREATED_THROUGH_REPOSITORY, (i) =>
    index.resources.create({
      type: 'instance',
      id: `vm-${i}`,
      creator: 'bench:bench',
      projectId: `p${i % 100}`,
      attributes: { host: hostOf(i), flavor: flavorOf(i), vcpus: 1 + (i % 16) },
      metrics: { cpu: { archivePolicyName: 'low' }, memory: { archivePolicyName: 'low' } },
    }),
  );
  return CREATED_THROUGH_REPOSITORY / ((performance.now() - started) / 1000);
}

/** The remaining resources go in with set-based SQL: only the repository path is being timed. */
async function bulkLoad(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(
    `INSERT INTO resource (id, type, creator, original_resource_id, started_at, project_id, revision_start, attributes)
     SELECT gen_random_uuid(), 'instance', 'bench:bench', 'vm-' || i, now() - i * interval '1 minute', 'p' || (i % 100), now(),
       jsonb_build_object('host', 'compute-' || i, 'flavor', (ARRAY['small','medium','large'])[i % 3 + 1], 'vcpus', 1 + i % 16)
     FROM generate_series($1::int, $2::int - 1) AS i`,
    [CREATED_THROUGH_REPOSITORY, TOTAL_RESOURCES],
  );
  await client.query(
    `INSERT INTO metric (id, name, resource_id, creator, archive_policy_name)
     SELECT gen_random_uuid(), n, r.id, r.creator, 'low' FROM resource r CROSS JOIN (VALUES ('cpu'), ('memory')) AS m(n)
     WHERE NOT EXISTS (SELECT 1 FROM metric WHERE resource_id = r.id)`,
  );
  await client.query('ANALYZE');
  await client.end();
}

async function lookups(index: Index, databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const { rows } = await client.query<{ id: string }>('SELECT id FROM resource ORDER BY random() LIMIT 5000');
  await client.end();
  const started = performance.now();
  await inParallel(LOOKUPS, async (i) => {
    const metric = await index.metrics.getByResourceAndName(
      rows[i % rows.length]!.id,
      i % 2 ? 'cpu' : 'memory',
    );
    if (!metric) throw new Error('look-up missed');
  });
  return LOOKUPS / ((performance.now() - started) / 1000);
}

async function searchLatency(label: string, run: () => Promise<unknown[]>) {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < SEARCH_RUNS; i++) {
    const started = performance.now();
    rows = (await run()).length;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(1);
  console.log(
    `  ${label.padEnd(58)} rows=${String(rows).padStart(3)}  p50=${at(0.5)} ms  p95=${at(0.95)} ms`,
  );
}

async function main(): Promise<void> {
  const name = `granary_index_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl!);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const index = createIndex({ databaseUrl, maxConnections: CONCURRENCY });
  try {
    await index.migrate();
    await index.seed('defaults');
    await index.resourceTypes.create({
      name: 'instance',
      attributes: { host: { type: 'string' }, flavor: { type: 'string' }, vcpus: { type: 'number' } },
    });
    console.log(
      `index benchmark (${CONCURRENCY} concurrent clients, ${TOTAL_RESOURCES} resources with 2 metrics each)`,
    );
    const createsPerSecond = await createThroughRepository(index);
    console.log(
      `  resource creates (each with 2 new metrics): ${createsPerSecond.toFixed(0)}/s over ${CREATED_THROUGH_REPOSITORY}`,
    );
    await bulkLoad(databaseUrl);
    console.log(
      `  metric look-ups by (resource, name): ${(await lookups(index, databaseUrl)).toFixed(0)}/s over ${LOOKUPS}`,
    );
    console.log(`  search latency over ${TOTAL_RESOURCES} resources, ${SEARCH_RUNS} runs each:`);
    const search =
      (filter: unknown, extra: Record<string, unknown> = {}) =>
      () =>
        index.resources.search({
          type: 'instance',
          filter: parseResourceFilter(filter),
          limit: 100,
          ...extra,
        });
    const deepMarker = (
      await index.resources.search({
        type: 'instance',
        sort: ['id:asc'],
        limit: 1,
        filter: parseResourceFilter('host = "compute-50000"'),
      })
    )[0]!.id;
    await searchLatency('host = "compute-4242" (GIN containment)', search('host = "compute-4242"'));
    await searchLatency('id = "vm-77" (UUIDv5 of a non-UUID id)', () =>
      index.resources.search({
        type: 'instance',
        filter: parseResourceFilter({ '=': { id: 'vm-77' } }),
        creator: 'bench:bench',
      }),
    );
    await searchLatency(
      'project_id = "p42", default sort, limit 100',
      search({ '=': { project_id: 'p42' } }),
    );
    await searchLatency(
      'host like "compute-12%" and started_at >= …, limit 100',
      search('host like "compute-12%" and started_at >= "2010-01-01"'),
    );
    await searchLatency(
      'vcpus >= 8 and not flavor = "small", limit 100',
      search('vcpus >= 8 and not flavor = "small"'),
    );
    await searchLatency(
      'no filter, sort id:asc, marker mid-table, limit 100',
      search({}, { sort: ['id:asc'], marker: deepMarker }),
    );
  } finally {
    await index.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
