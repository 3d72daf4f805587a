import { parseArgs } from 'node:util';
import { runDifferential } from '../../../test/differential/run.ts';
import { loadInfraSettings } from '../../../test/infra/settings.ts';

/**
 * `make diff-gnocchi [CASES=200] [SEED=1]`: the differential test against Gnocchi 4.7.1 (see
 * test/differential). Prints each difference with its seed and request, then the totals; exits 1
 * when any read differs.
 */
const { values } = parseArgs({
  options: { cases: { type: 'string', default: '200' }, seed: { type: 'string', default: '1' } },
});
const settings = loadInfraSettings();
const { brokers } = settings.kafka;
const databaseUrl = settings.database.url;
const schemaRegistryUrl = settings.schemaRegistry.url;
if (!brokers || !databaseUrl || !schemaRegistryUrl) {
  throw new Error(
    'KAFKA_BROKERS, DATABASE_URL and SCHEMA_REGISTRY_URL are needed: source .granary/infra.env',
  );
}
const started = Date.now();
const result = await runDifferential({
  cases: Number(values.cases),
  seed: Number(values.seed),
  infra: { kafkaBrokers: brokers, databaseUrl, schemaRegistryUrl },
  progress: (line) => console.log(line),
});
for (const d of result.differences) {
  console.log(`${d.kind === 'differs' ? '✗' : '·'} seed ${d.seed}: ${d.request}\n    ${d.detail}`);
}
const differing = result.differences.filter((d) => d.kind === 'differs').length;
console.log(
  `${result.cases} cases, ${result.requests} requests, ${differing} differences, ${result.differences.length - differing} Gnocchi errors (${Math.round((Date.now() - started) / 1000)} s)`,
);
process.exitCode = differing === 0 ? 0 : 1;
