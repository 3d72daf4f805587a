import { createIndex } from '@granary/index';
import type { MeasureBatch } from '@granary/schema';
import pg from 'pg';

const START_US = 1_763_700_000_000_000;
const STEP_US = 10_000_000;

/** Stable metric ids (UUID text from the index). */
export function generateMetricIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => {
    const hex = index.toString(16).padStart(12, '0');
    return `6a1d0000-0000-4000-8000-${hex}`;
  });
}

/** Round `round` of the benchmark stream: one batch of `measures` consecutive measures per metric. */
export function roundOf(ids: readonly string[], round: number, measures: number): MeasureBatch[] {
  return ids.map((metric_id, metric) => {
    const timestamps: number[] = [];
    const values: number[] = [];
    for (let index = 0; index < measures; index++) {
      timestamps.push(START_US + (round * measures + index) * STEP_US);
      values.push(((metric * 31 + round * measures + index) % 1000) / 10);
    }
    return { metric_id, timestamps, values };
  });
}

/**
 * A database of its own for a benchmark (on the server of `adminUrl`): the index migrated, Gnocchi's
 * default policies, and `ids` as metrics on `policy`. `drop()` removes it.
 */
export async function createBenchIndex(
  adminUrl: string,
  name: string,
  ids: readonly string[],
  policy: string,
) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const index = createIndex({ databaseUrl: url.toString() });
  await index.migrate();
  await index.seed('defaults');
  await index.close();
  // A fixture, not a test of the index: one bulk insert instead of an API creation per metric.
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query(
    `INSERT INTO metric (id, creator, archive_policy_name) SELECT id, 'bench', $2 FROM unnest($1::uuid[]) AS id`,
    [ids, policy],
  );
  await client.end();
  return {
    url: url.toString(),
    async drop() {
      const dropper = new pg.Client({ connectionString: adminUrl });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}
