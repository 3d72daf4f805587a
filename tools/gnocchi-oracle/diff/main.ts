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
const tally = new Map<string, number>();
let unexplained = 0;
for (const d of result.differences) {
  const known = d.explanation;
  if (known === undefined) unexplained++;
  else tally.set(known, (tally.get(known) ?? 0) + 1);
  console.log(`${known === undefined ? '✗' : `· [${known}]`} seed ${d.seed}: ${d.request}\n    ${d.detail}`);
}
const seconds = Math.round((Date.now() - started) / 1000);
console.log(`${result.cases} cases, ${result.requests} requests in ${seconds} s`);
for (const [id, count] of tally) console.log(`  ${count} × ${id} (documented in docs/compatibility.md)`);
console.log(`${unexplained} unexplained differences`);
process.exitCode = unexplained === 0 ? 0 : 1;
