import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ReadStack, adminHeaders, startReadStack } from '../../apps/api/test/stack.ts';
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
const SEED = '14';
const MAX_EXAMPLES = '100';
const CHECKS = ['not_a_server_error', 'response_schema_conformance', 'status_code_conformance'];

let stack: ReadStack;
let schemathesis: string;

beforeAll(async () => {
  schemathesis = join(ensureVenv(VENV, join(HERE, 'requirements.txt')), 'schemathesis');
  mkdirSync(REPORT_DIR, { recursive: true });
  stack = await startReadStack('fuzz');
  await stack.startProcessor(200);
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
      '--workers',
      '2',
      '--request-timeout',
      '10',
      '--header',
      `Authorization: ${adminHeaders.authorization}`,
      '--report',
      'junit',
      '--report-dir',
      REPORT_DIR,
    ],
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NO_COLOR: '1' } },
  );
  const [status, signal] = (await once(child, 'exit')) as [number | null, string | null];
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(
    `fuzz: schemathesis ${status === 0 ? 'passed' : `failed (exit ${status ?? signal})`}` +
      ` in ${seconds}s (seed ${SEED}, ${MAX_EXAMPLES} examples per operation, checks ${CHECKS.join(', ')});` +
      ` JUnit report in ${REPORT_DIR}`,
  );
  expect(status).toBe(0);
});
