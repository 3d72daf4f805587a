import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ReadStack, adminHeaders, startReadStack } from '@granary/testing/api-stack';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureVenv } from '../python-venv.ts';

/**
 * `make fuzz`: schemathesis (pinned, from PyPI) against the live API over the local infrastructure
 * — a database, topics, store and processor of its own (the integration tests' read stack) — as
 * admin, from the API's own `/openapi.json`. Fails on any 5xx, any response that does not match
 * the documented schema, and any undocumented status. The seed and the example count are fixed so
 * that CI runs the same cases every time and stays within a few minutes on two cores.
 */

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(HERE, '../..');
const VENV = join(ROOT, '.granary/tools/fuzz-venv');
const REPORT_DIR = join(ROOT, '.granary/logs/fuzz');
const REPORT = join(REPORT_DIR, 'junit.xml');
const SEED = '14';
const MAX_EXAMPLES = '75';
const CHECKS = ['not_a_server_error', 'response_schema_conformance', 'status_code_conformance'];

const RESOURCE_ID = '5c7b1f0e-0000-4000-8000-00000000f022';

let stack: ReadStack;
let schemathesis: string;
let config: string;

async function call(method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${stack.api.url}${path}`, {
    method,
    headers: adminHeaders,
    body: JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`fixture ${method} ${path}: ${response.status}`);
  return response.status === 202 ? {} : ((await response.json()) as Record<string, unknown>);
}

/**
 * Objects for path parameters to name, with measures processed: without them nearly every
 * `{id}`/`{name}` the fuzzer invents is a 404 and the handlers behind it never run.
 */
async function createFixtures(): Promise<string> {
  const measures = [
    { timestamp: '2024-05-01T12:00:00Z', value: 1.5 },
    { timestamp: '2024-05-01T12:07:00Z', value: -3 },
  ];
  const metric = await call('POST', '/v1/metric', { archive_policy_name: 'low', name: 'fuzz' });
  const resource = await call('POST', '/v1/resource/generic', {
    id: RESOURCE_ID,
    project_id: RESOURCE_ID,
    metrics: { cpu: { archive_policy_name: 'medium' } },
  });
  const metrics = [metric.id as string, (resource.metrics as Record<string, string>).cpu as string];
  await call('POST', '/v1/batch/metrics/measures', Object.fromEntries(metrics.map((id) => [id, measures])));
  await call('POST', '/v1/resource_type', { name: 'fuzzed', attributes: { host: { type: 'string' } } });
  const dictionary = (name: string, values: string[]) =>
    `[dictionaries.${name}]\nvalues = ${JSON.stringify(values)}\n`;
  // Path parameters name the fixtures nine times in ten; DELETEs get invented names only, so that
  // the fixtures outlive the run. (Includes are alternatives, excludes conditions.)
  const bind = (path: string, parameters: Record<string, string>) =>
    `[[operations]]\ninclude-path-regex = "${path}"\nexclude-method = "DELETE"\n` +
    `parameters = { ${Object.entries(parameters)
      .map(([name, values]) => `"path.${name}" = { dictionary = "${values}", probability = 0.9 }`)
      .join(', ')} }\n`;
  const file = join(REPORT_DIR, 'schemathesis.toml');
  writeFileSync(
    file,
    [
      // No state carried over from earlier runs: the same seed must mean the same cases.
      '[cache]\nenabled = false\n',
      dictionary('metrics', metrics),
      dictionary('resources', [RESOURCE_ID]),
      dictionary('types', ['generic']),
      dictionary('metricNames', ['cpu']),
      dictionary('policies', ['low', 'medium']),
      dictionary('rules', ['default']),
      dictionary('resourceTypes', ['generic', 'fuzzed']),
      bind('^/v1/metric/', { id: 'metrics' }),
      bind('^/v1/(resource|search)/', { type: 'types', id: 'resources', name: 'metricNames' }),
      bind('^/v1/archive_policy/', { name: 'policies' }),
      bind('^/v1/archive_policy_rule/', { name: 'rules' }),
      bind('^/v1/resource_type/', { name: 'resourceTypes' }),
      bind('^/v1/aggregation/resource/', { type: 'types', name: 'metricNames' }),
      // Gnocchi answers any InfluxDB query but CREATE DATABASE with 501 (documented), not a failure.
      '[[operations]]\ninclude-path = "/v1/influxdb/query"\n' +
        'checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "501"]\n',
    ].join('\n'),
  );
  return file;
}

beforeAll(async () => {
  schemathesis = join(ensureVenv(VENV, join(HERE, 'requirements.txt')), 'schemathesis');
  mkdirSync(REPORT_DIR, { recursive: true });
  stack = await startReadStack('fuzz');
  await stack.startProcessor(200);
  config = await createFixtures();
});

afterAll(async () => {
  await stack?.stop();
});

it('answers every generated request without a server error, as its OpenAPI document says', async () => {
  const started = Date.now();
  // Not spawnSync: the API under test runs in this process's event loop.
  const child = spawn(
    schemathesis,
    [
      '--config-file',
      config,
      'run',
      `${stack.api.url}/openapi.json`,
      '--checks',
      CHECKS.join(','),
      '--phases',
      'examples,coverage,fuzzing',
      '--max-examples',
      MAX_EXAMPLES,
      '--seed',
      SEED,
      // One worker: hypothesis on CPython 3.11 fails now and then in ast.parse when two threads
      // describe strategies at once ("AST constructor recursion depth mismatch").
      '--workers',
      '1',
      '--request-timeout',
      '10',
      '--header',
      `Authorization: ${adminHeaders.authorization}`,
      // One report, replaced by each run (CI can publish it).
      '--report',
      'junit',
      '--report-junit-path',
      REPORT,
    ],
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NO_COLOR: '1' } },
  );
  const [status, signal] = (await once(child, 'exit')) as [number | null, string | null];
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(
    `fuzz: schemathesis ${status === 0 ? 'passed' : `failed (exit ${status ?? signal})`}` +
      ` in ${seconds}s (seed ${SEED}, ${MAX_EXAMPLES} examples per operation, checks ${CHECKS.join(', ')});` +
      ` JUnit report: ${REPORT}`,
  );
  expect(status).toBe(0);
});
