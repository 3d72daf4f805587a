import { type ReadStack, callApi, startReadStack } from '@granary/testing/api-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `POST /v1/aggregates` with `resource_type` + `search`, as Grafana's Gnocchi datasource and Aodh
 * send it: resources found in the real index, measures written through the API, processed by a
 * real processor and read back from the filesystem store.
 */

const PROJECT_A = '0aaaaaaa-0000-4000-8000-000000000001';
const PROJECT_B = '0bbbbbbb-0000-4000-8000-000000000002';
const USER_1 = 'a1111111-0000-4000-8000-000000000001';
const USER_2 = 'a2222222-0000-4000-8000-000000000002';

let stack: ReadStack;
/** The resources by name, with their metric ids by metric name. */
const resources: Record<string, { id: string; metrics: Record<string, string> }> = {};

const call = (method: string, path: string, body?: unknown) => callApi(stack, method, path, body);

const aggregates = (body: unknown, query = '') => call('POST', `/v1/aggregates${query}`, body);

const minute = (time: string, value: number) => [`2024-05-01T${time}:00+00:00`, 60, value];
/** The two minutes every metric here has points in. */
const minutes = (first: number, second: number) => [minute('12:00', first), minute('12:01', second)];
/** A 200 answer with `body`. */
const ok = (body: unknown) => ({ status: 200, body });
/** A `groupby=project_id` group of `(aggregate …)`: one aggregated series. */
const aggregatedGroup = (project: string, first: number, second: number) => ({
  group: { project_id: project },
  measures: { measures: { aggregated: minutes(first, second) } },
});

async function createResource(
  name: string,
  attributes: { project_id: string; user_id: string },
  metrics: Record<string, [number, number]>,
) {
  const created = await call('POST', '/v1/resource/generic', {
    id: name,
    ...attributes,
    metrics: Object.fromEntries(
      Object.keys(metrics).map((metric) => [metric, { archive_policy_name: 'minute' }]),
    ),
  });
  expect(created.status).toBe(201);
  const resource = created.body as { id: string; metrics: Record<string, string> };
  resources[name] = resource;
  for (const [metric, [first, second]] of Object.entries(metrics)) {
    const posted = await call('POST', `/v1/metric/${resource.metrics[metric]}/measures`, [
      { timestamp: '2024-05-01T12:00:10Z', value: first },
      { timestamp: '2024-05-01T12:01:10Z', value: second },
    ]);
    expect(posted.status).toBe(202);
  }
}

beforeAll(async () => {
  stack = await startReadStack('api-aggregates');
  await stack.startProcessor(3_600_000);
  const policy = await call('POST', '/v1/archive_policy', {
    name: 'minute',
    aggregation_methods: ['mean', 'max'],
    definition: [{ granularity: 60, points: 1440 }],
  });
  expect(policy.status).toBe(201);
  await createResource(
    'web-1',
    { project_id: PROJECT_A, user_id: USER_1 },
    { 'cpu.util': [10, 20], 'cpu.idle': [90, 80], 'disk.read': [5, 5] },
  );
  await createResource('web-2', { project_id: PROJECT_A, user_id: USER_2 }, { 'cpu.util': [30, 40] });
  await createResource('db-1', { project_id: PROJECT_B, user_id: USER_1 }, { 'cpu.util': [50, 60] });
  // The first read asks the processor to checkpoint what was written, in the partition of every
  // metric (hence `*`); the others read stored data.
  const fresh = await aggregates(
    { resource_type: 'generic', operations: '(metric * mean)' },
    '?refresh=true',
  );
  expect(fresh.status).toBe(200);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('POST /v1/aggregates over a resource search', () => {
  it('matches metric names with a wildcard on the resources a JSON search finds, keyed resource → name → method', async () => {
    const answer = await aggregates({
      resource_type: 'generic',
      search: { '=': { project_id: PROJECT_A } },
      operations: '(metric cpu.* mean)',
    });
    expect(answer).toEqual(
      ok({
        measures: {
          [resources['web-1']!.id]: {
            'cpu.idle': { mean: minutes(90, 80) },
            'cpu.util': { mean: minutes(10, 20) },
          },
          [resources['web-2']!.id]: {
            'cpu.util': { mean: minutes(30, 40) },
          },
        },
      }),
    );
  });

  it('takes several (name method) pairs and the string search form', async () => {
    const answer = await aggregates({
      resource_type: 'generic',
      search: `project_id = '${PROJECT_A}' and user_id = '${USER_1}'`,
      operations: ['metric', ['disk.read', 'max'], ['cpu.util', 'mean']],
    });
    expect(answer).toEqual(
      ok({
        measures: {
          [resources['web-1']!.id]: {
            'disk.read': { max: minutes(5, 5) },
            'cpu.util': { mean: minutes(10, 20) },
          },
        },
      }),
    );
  });

  it('aggregates across the found resources, every resource of the type without a search', async () => {
    const answer = await aggregates({
      resource_type: 'generic',
      operations: '(aggregate mean (metric cpu.util mean))',
    });
    expect(answer).toEqual(ok({ measures: { aggregated: minutes(30, 40) } }));
  });

  it('applies math after the aggregation, start and stop as for metric ids', async () => {
    const answer = await aggregates(
      {
        resource_type: 'generic',
        search: { '=': { project_id: PROJECT_A } },
        operations: '(* 2 (aggregate max (metric cpu.util mean)))',
      },
      '?start=2024-05-01T12:01:00Z',
    );
    expect(answer).toEqual(ok({ measures: { aggregated: [minute('12:01', 80)] } }));
  });

  it('adds the resources that contributed on details=true', async () => {
    const answer = await aggregates(
      {
        resource_type: 'generic',
        search: { '=': { user_id: USER_1 } },
        operations: '(aggregate sum (metric cpu.util mean))',
      },
      '?details=true',
    );
    expect(answer.status).toBe(200);
    const body = answer.body as { measures: unknown; references: Record<string, unknown>[] };
    expect(body.measures).toEqual({ aggregated: minutes(60, 80) });
    expect(body.references.map((r) => r.id).sort()).toEqual(
      [resources['web-1']!.id, resources['db-1']!.id].sort(),
    );
    expect(body.references.find((r) => r.id === resources['db-1']!.id)).toMatchObject({
      type: 'generic',
      project_id: PROJECT_B,
      user_id: USER_1,
      original_resource_id: 'db-1',
      metrics: resources['db-1']!.metrics,
    });
  });

  it('computes once per group of one attribute, groups in attribute order', async () => {
    const answer = await aggregates(
      { resource_type: 'generic', operations: '(aggregate sum (metric cpu.util mean))' },
      '?groupby=project_id',
    );
    expect(answer).toEqual(ok([aggregatedGroup(PROJECT_A, 40, 60), aggregatedGroup(PROJECT_B, 50, 60)]));
  });

  it('computes once per group of two attributes, with details per group', async () => {
    const answer = await aggregates(
      {
        resource_type: 'generic',
        search: { '=': { project_id: PROJECT_A } },
        operations: '(metric cpu.util mean)',
      },
      '?groupby=user_id&groupby=project_id&details=true',
    );
    const web = (name: string) => resources[name]!;
    expect(answer.status).toBe(200);
    const groups = answer.body as {
      group: unknown;
      measures: { measures: unknown; references: { id: string }[] };
    }[];
    expect(groups.map(({ group, measures }) => ({ group, measures: measures.measures }))).toEqual([
      {
        group: { project_id: PROJECT_A, user_id: USER_1 },
        measures: { [web('web-1').id]: { 'cpu.util': { mean: minutes(10, 20) } } },
      },
      {
        group: { project_id: PROJECT_A, user_id: USER_2 },
        measures: { [web('web-2').id]: { 'cpu.util': { mean: minutes(30, 40) } } },
      },
    ]);
    expect(groups.map(({ measures }) => measures.references.map((r) => r.id))).toEqual([
      [web('web-1').id],
      [web('web-2').id],
    ]);
  });

  it('leaves out groups without a matching metric', async () => {
    const answer = await aggregates(
      { resource_type: 'generic', operations: '(metric disk.* max)' },
      '?groupby=project_id',
    );
    expect(answer).toEqual(
      ok([
        {
          group: { project_id: PROJECT_A },
          measures: {
            measures: {
              [resources['web-1']!.id]: { 'disk.read': { max: minutes(5, 5) } },
            },
          },
        },
      ]),
    );
  });

  it("answers Gnocchi's 404 when no resource matches, or no metric of the found resources", async () => {
    const notFound = (names: string[]) => ({
      status: 404,
      body: { code: 404, title: 'Not Found', description: `Metric ['${names.join("', '")}'] does not exist` },
    });
    expect(
      await aggregates({
        resource_type: 'generic',
        search: { '=': { project_id: 'c0000000-0000-4000-8000-00000000000c' } },
        operations: '(aggregate mean (metric cpu.util mean))',
      }),
    ).toEqual(notFound(['cpu.util']));
    expect(
      await aggregates({
        resource_type: 'generic',
        operations: '(metric (memory.* mean) (swap mean))',
      }),
    ).toEqual(notFound(['memory.*', 'swap']));
    expect(
      await aggregates({ resource_type: 'generic', operations: '(metric swap mean)' }, '?groupby=project_id'),
    ).toEqual(notFound(['swap']));
  });

  it('answers 404 for an unknown resource type', async () => {
    expect(await aggregates({ resource_type: 'nope', operations: '(metric cpu.util mean)' })).toEqual({
      status: 404,
      body: { code: 404, title: 'Not Found', description: 'Resource type nope does not exist' },
    });
  });

  it("answers 400 with the search endpoint's message for a search that is not a filter, or a bad groupby", async () => {
    const search = (filter: unknown, query = '') =>
      aggregates({ resource_type: 'generic', search: filter, operations: '(metric cpu.util mean)' }, query);
    const refused = (description: unknown) => ({
      status: 400,
      body: { code: 400, title: 'Bad Request', description },
    });
    expect(await search({ '~': { project_id: PROJECT_A } })).toEqual(
      refused({ cause: 'Invalid input', reason: "extra keys not allowed @ data['~']", detail: ['~'] }),
    );
    expect(await search('project_id = = 3')).toEqual(
      refused("Invalid filter: Expected a value, found '=' (at char 13)"),
    );
    expect(await search(['project_id'])).toEqual(
      refused({
        cause: 'Invalid input',
        reason: "expected str for dictionary value @ data['search']",
        detail: ['search'],
      }),
    );
    expect(await search({}, '?groupby=flavor')).toEqual(
      refused("Invalid pagination: `Sort key supplied is invalid: flavor'"),
    );
  });

  it('with use_history, groups each revision with the points of its own time', async () => {
    // db-1 moves to project A now: its 2024 points were measured while it was in project B.
    const moved = await call('PATCH', `/v1/resource/generic/${resources['db-1']!.id}`, {
      project_id: PROJECT_A,
    });
    expect(moved.status).toBe(200);
    const grouped = (query: string) =>
      aggregates({ resource_type: 'generic', operations: '(aggregate sum (metric cpu.util mean))' }, query);
    expect(await grouped('?groupby=project_id')).toEqual(ok([aggregatedGroup(PROJECT_A, 90, 120)]));
    expect(await grouped('?groupby=project_id&use_history=true')).toEqual(
      ok([aggregatedGroup(PROJECT_A, 40, 60), aggregatedGroup(PROJECT_B, 50, 60)]),
    );
  });

  it('with use_history, finds resources by past attributes, keeping the points of those revisions', async () => {
    const inProjectB = (query: string) =>
      aggregates(
        {
          resource_type: 'generic',
          search: { '=': { project_id: PROJECT_B } },
          operations: '(metric cpu.util mean)',
        },
        query,
      );
    // Without history nothing is found: Gnocchi's NoSuchMetric.
    expect((await inProjectB('')).status).toBe(404);
    expect(await inProjectB('?use_history=true')).toEqual(
      ok({
        measures: {
          [resources['db-1']!.id]: { 'cpu.util': { mean: minutes(50, 60) } },
        },
      }),
    );
  });
});
