import { beforeAll, describe, expect, it } from 'vitest';
import { ensureGnocchiInstalled } from '../../tools/gnocchi-oracle/oracle.ts';
import { infra } from '../infra/endpoints.ts';
import { runDifferential } from './run.ts';

/** A first install builds uwsgi and psycopg2: minutes on two cores; later runs reuse the venv. */
const INSTALL_TIMEOUT_MS = 900_000;
const RUN_TIMEOUT_MS = 600_000;

describe('Granary against Gnocchi 4.7.1 (the differential test, small)', () => {
  beforeAll(async () => {
    await ensureGnocchiInstalled();
  }, INSTALL_TIMEOUT_MS);

  it(
    'answers ten seeded random workloads as Gnocchi does, but for documented differences',
    async () => {
      const { kafkaBrokers, databaseUrl, schemaRegistryUrl } = infra();
      const result = await runDifferential({
        cases: 10,
        seed: 1,
        infra: { kafkaBrokers, databaseUrl, schemaRegistryUrl },
      });
      expect(result.differences.filter((d) => d.explanation === undefined)).toEqual([]);
      // Every case ran its reads on both systems (a case has 15 to 60).
      expect(result.requests).toBeGreaterThan(150);
    },
    RUN_TIMEOUT_MS,
  );
});
