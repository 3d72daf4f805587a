import { type ReadStack, adminHeaders, callApi, startReadStack, until } from '@granary/testing/api-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.ts';
import { COMMANDS } from '../src/commands.ts';
import { EXIT_CODES } from '../src/errors.ts';
import { captureStreams } from './support.ts';

let stack: ReadStack;
let resourceId = '';

/** `granary <argv>` against the stack's API as the tests' admin (empty password). */
async function granary(...argv: string[]) {
  const streams = captureStreams();
  const env = { GRANARY_API_CLIENT__URL: stack.api.url, GRANARY_API_CLIENT__PASSWORD: '' };
  const exitCode = await runCli(COMMANDS, argv, streams, { env });
  return { exitCode, out: streams.out(), err: streams.err() };
}

describe('granary resources and granary measures', () => {
  beforeAll(async () => {
    stack = await startReadStack('cli-lookups');
    await stack.startProcessor(200);
    const created = await callApi(stack, 'POST', '/v1/resource/generic', {
      id: 'cli-node-7',
      project_id: 'cli-project',
      metrics: { 'cpu.util': { archive_policy_name: 'low' } },
    });
    expect(created.status).toBe(201);
    resourceId = (created.body as { id: string }).id;
    const posted = await callApi(
      stack,
      'POST',
      `/v1/resource/generic/${resourceId}/metric/cpu.util/measures`,
      [
        { timestamp: '2026-01-01T10:00:00Z', value: 3 },
        { timestamp: '2026-01-01T10:05:00Z', value: 5 },
      ],
    );
    expect(posted.status).toBe(202);
    await until(async () => {
      const answer = await callApi(
        stack,
        'GET',
        `/v1/resource/generic/${resourceId}/metric/cpu.util/measures?refresh=true`,
      );
      return (answer.body as unknown[]).length > 0;
    });
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('lists resources filtered with Gnocchi’s filter language, as a table or JSON', async () => {
    const table = await granary('resources', '--search', "project_id = 'cli-project'");
    expect(table.exitCode).toBe(EXIT_CODES.ok);
    const lines = table.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id +type +original id +started +metrics$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${resourceId} +generic +cli-node-7 +\\S+ +cpu.util$`));
    const json = await granary(
      'resources',
      '--type',
      'generic',
      '--search',
      "project_id = 'cli-project'",
      '--json',
    );
    expect((JSON.parse(json.out) as { id: string }[]).map((r) => r.id)).toEqual([resourceId]);
    const refused = await granary('resources', '--search', 'project_id = ');
    expect(refused.exitCode).toBe(EXIT_CODES.failure);
    expect(refused.err).toContain('[CLI_API_ERROR]');
  });

  it('prints a metric of a resource named by its original id', async () => {
    const expected = (
      await callApi(
        stack,
        'GET',
        `/v1/resource/generic/${resourceId}/metric/cpu.util/measures?granularity=300`,
      )
    ).body as [string, number, number][];
    expect(expected.length).toBeGreaterThan(0);
    const json = await granary('measures', 'cli-node-7', 'cpu.util', '--granularity', '300', '--json');
    expect(JSON.parse(json.out)).toEqual(expected);
    const table = await granary(
      'measures',
      resourceId,
      'cpu.util',
      '--granularity',
      '300',
      '--aggregation',
      'max',
    );
    expect(table.out.trimEnd().split('\n')).toEqual([
      'timestamp                  granularity  value',
      '2026-01-01T10:00:00+00:00  300          3',
      '2026-01-01T10:05:00+00:00  300          5',
    ]);
  });

  it('finds a resource another creator made by its original id (its id is derived from theirs)', async () => {
    const made = await fetch(`${stack.api.url}/v1/resource/generic`, {
      method: 'POST',
      headers: { ...adminHeaders, authorization: `basic ${Buffer.from('foobar:').toString('base64')}` },
      body: JSON.stringify({ id: 'cli-node-8', metrics: { 'cpu.util': { archive_policy_name: 'low' } } }),
    });
    expect(made.status).toBe(201);
    const json = await granary('measures', 'cli-node-8', 'cpu.util', '--json');
    expect(json.exitCode).toBe(EXIT_CODES.ok);
    expect(JSON.parse(json.out)).toEqual([]);
    expect((await granary('measures', 'cli-node-8', 'cpu.util')).out).toBe('no measures\n');
  });

  it('says which resource is missing', async () => {
    const missing = await granary('measures', 'no-such-node', 'cpu.util');
    expect(missing.exitCode).toBe(EXIT_CODES.failure);
    expect(missing.err).toContain('No such resource: no-such-node [CLI_RESOURCE_NOT_FOUND]');
  });
});
