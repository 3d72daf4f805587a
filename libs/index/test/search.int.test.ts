import { type TestIndex, createTestIndex } from '@granary/testing/database';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Index, type Resource, parseResourceFilter } from '../index.ts';
import { refusal } from './refusal.ts';

const ids = (resources: Resource[]) => resources.map((r) => r.id);

describe('resource search (search.yaml, pagination.yaml)', () => {
  let db: TestIndex;
  let index: Index;
  const search = (filter: unknown, extra: Record<string, unknown> = {}) =>
    index.resources.search({
      type: 'generic',
      filter: parseResourceFilter(filter),
      creator: 'foobar',
      ...extra,
    });

  beforeAll(async () => {
    db = await createTestIndex();
    index = db.index;
    const generic = [
      ['57a9e836-87b8-4a21-9e30-18a474b98fef', '2014-01-01T02:02:02'],
      ['4facbf7e-a900-406d-a828-82393f7006b3', '2014-01-02T02:02:02'],
      ['36775172-ebc9-4060-9870-a649361bc3ab', '2014-01-03T02:02:02'],
      ['28593168-52bb-43b5-a6db-fc2343aac02a', '2014-01-04T02:02:02'],
      ['1e3d5702-2cbf-46e0-ba13-0ddaa3c71150', '2014-01-05T02:02:02'],
    ];
    for (const [id, startedAt] of generic) {
      await index.resources.create({
        type: 'generic',
        id: id!,
        startedAt,
        creator: 'foobar',
        userId: 'u1',
        projectId: 'p1',
      });
    }
    await index.resourceTypes.create({
      name: 'instance',
      attributes: {
        host: { type: 'string' },
        vcpus: { type: 'number', required: false },
        booted: { type: 'bool', required: false },
        image: { type: 'uuid', required: false },
        launched_at: { type: 'datetime', required: false },
      },
    });
    const instances = [
      { id: 'vm-a', host: 'compute1', vcpus: 2, booted: true, launched_at: '2020-01-01T00:00:00Z' },
      { id: 'vm-b', host: 'compute2', vcpus: 8, booted: false, launched_at: '2021-01-01T00:00:00Z' },
      { id: 'vm-c', host: 'network1', vcpus: null, booted: null, launched_at: null },
      { id: 'vm-d', host: "o'brien; DROP TABLE resource; --☃", vcpus: 4, booted: true, launched_at: null },
    ];
    for (const { id, ...attributes } of instances) {
      await index.resources.create({
        type: 'instance',
        id,
        creator: 'admin:proj',
        startedAt: '2015-01-01T00:00:00',
        endedAt: id === 'vm-a' ? '2015-01-01T01:00:00' : undefined,
        attributes: { ...attributes, image: id === 'vm-a' ? 'E495EBAD-BE64-46C0-81D6-B079BEB48DF9' : null },
      });
    }
  });
  afterAll(() => db.drop());

  const hosts = (resources: Resource[]) => resources.map((r) => r.attributes.host).sort();
  const instanceSearch = (filter: unknown) =>
    index.resources.search({ type: 'instance', filter: parseResourceFilter(filter), creator: 'admin:proj' });

  it('matches by id (mapped with the creator), in-lists, not, creator and created_by_*', async () => {
    expect(await search({ '=': { id: 'cd9eef' } })).toEqual([]);
    expect(
      ids(
        await search({
          in: { id: ['57a9e836-87b8-4a21-9e30-18a474b98fef', '4FACBF7E-A900-406D-A828-82393F7006B3'] },
        }),
      ),
    ).toHaveLength(2);
    expect(
      await search('not id in [57a9e836-87b8-4a21-9e30-18a474b98fef, 4facbf7e-a900-406d-a828-82393f7006b3]'),
    ).toHaveLength(7);
    expect(await search({ eq: { creator: 'foobar' } })).toHaveLength(5);
    expect(await search({ like: { creator: 'foo%' } })).toHaveLength(5);
    expect(await search({ eq: { created_by_project_id: 'f3d41b770cc14f0bb94a1d5be9c0e3ea' } })).toHaveLength(
      0,
    );
    expect(await search({ eq: { created_by_project_id: 'proj' } })).toHaveLength(4);
    expect(await search({ eq: { created_by_user_id: 'admin' } })).toHaveLength(4);
    const vmA = (await instanceSearch({ '=': { id: 'vm-a' } }))[0]!;
    expect(vmA.originalResourceId).toBe('vm-a');
  });

  it('ne also matches null, = null matches null (Gnocchi semantics)', async () => {
    expect(await search({ ne: { project_id: 'foobar' } })).toHaveLength(9);
    expect(await search({ ne: { project_id: 'p1' } })).toHaveLength(4);
    expect(await search({ '=': { project_id: null } })).toHaveLength(4);
    expect(await search({ '!=': { ended_at: null } })).toHaveLength(1);
  });

  it('compares timestamps, lifespan and typed custom attributes', async () => {
    expect(await search('started_at >= "2014-01-03" and started_at < "2014-01-05T02:02:02"')).toHaveLength(2);
    expect(await search({ '>=': { started_at: 1388714522 } })).toHaveLength(7);
    expect(await search({ '>=': { lifespan: '30 min' } })).toHaveLength(1);
    expect(await search({ '>': { lifespan: 3600 } })).toHaveLength(0);
    expect(hosts(await instanceSearch('host like "compute%" and started_at >= "2010-01-01"'))).toEqual([
      'compute1',
      'compute2',
    ]);
    expect(hosts(await instanceSearch({ '>': { vcpus: 2 } }))).toHaveLength(2);
    expect(hosts(await instanceSearch({ ne: { vcpus: 2 } }))).toHaveLength(3);
    expect(hosts(await instanceSearch({ '=': { vcpus: 8.0 } }))).toEqual(['compute2']);
    expect(hosts(await instanceSearch({ in: { vcpus: [2, 4, null] } }))).toHaveLength(2);
    expect(hosts(await instanceSearch({ '=': { booted: true } }))).toHaveLength(2);
    expect(hosts(await instanceSearch({ '=': { image: 'e495ebadbe6446c081d6b079beb48df9' } }))).toEqual([
      'compute1',
    ]);
    expect(hosts(await instanceSearch({ '>=': { launched_at: '2020-06-01' } }))).toEqual(['compute2']);
    expect(
      hosts(await instanceSearch({ in: { started_at: ['2015-01-01T00:00:00Z', '2000-01-01'] } })),
    ).toHaveLength(4);
    expect(
      hosts(
        await instanceSearch({ or: [{ '=': { host: 'network1' } }, { not: { '=': { booted: true } } }] }),
      ),
    ).toEqual(['compute2', 'network1']);
  });

  it('refuses unknown attributes and ill-typed values with a 400, before any SQL runs', async () => {
    expect(await refusal(search({ '=': { host: 'x' } }))).toEqual({
      code: 'INDEX_INVALID_FILTER',
      status: 400,
      description: 'Resource type generic has no host attribute',
    });
    for (const filter of [
      { '=': { vcpus: 'many' } },
      { '=': { image: 'really!' } },
      { like: { vcpus: '1%' } },
      { '>': { launched_at: 'yesterday' } },
      { '>': { started_at: 1e300 } },
      { '>=': { lifespan: '1 shenanigan' } },
      { in: { lifespan: [1] } },
      { '<': { created_by_user_id: 'a' } },
      { '=': { 'host"; DROP TABLE resource; --': 'x' } },
      { '=': { 'hôst☃': 'x' } },
    ]) {
      expect((await refusal(instanceSearch(filter))).status, JSON.stringify(filter)).toBe(400);
    }
  });

  it('hostile values are data: quotes, semicolons, unicode, huge numbers', async () => {
    const hostile = "o'brien; DROP TABLE resource; --☃";
    expect(hosts(await instanceSearch({ '=': { host: hostile } }))).toEqual([hostile]);
    expect(hosts(await instanceSearch(`host = "${hostile}"`))).toEqual([hostile]);
    expect(hosts(await instanceSearch({ like: { host: "o'%; DROP%☃" } }))).toEqual([hostile]);
    expect(await instanceSearch({ '=': { host: `x' OR '1'='1` } })).toEqual([]);
    expect(await instanceSearch({ '>': { vcpus: 1.7976931348623157e308 } })).toEqual([]);
    expect(await instanceSearch('vcpus < -123456789012345678901234567890')).toEqual([]);
    expect(await search({ '=': { user_id: '\u{1F600}\u200B\uFEFF' } })).toEqual([]);
    const client = new pg.Client({ connectionString: db.databaseUrl });
    await client.connect();
    const { rows } = await client.query('SELECT count(*)::int AS n FROM resource');
    await client.end();
    expect(rows[0].n).toBe(9);
  });

  it('deeply nested and oversized filters are refused with a 400', async () => {
    let deep: unknown = { '=': { host: 'x' } };
    for (let i = 0; i < 50; i++) deep = { and: [deep] };
    expect(() => parseResourceFilter(deep)).toThrow(
      expect.objectContaining({ code: 'INDEX_INVALID_FILTER', status: 400 }),
    );
    let deepAtLimit: unknown = { '=': { creator: 'foobar' } };
    for (let i = 0; i < 30; i++) deepAtLimit = { not: deepAtLimit };
    expect(await search(deepAtLimit)).toHaveLength(5);
  });

  it('paginates with limit, marker and sort like Gnocchi', async () => {
    const firstTwo = await search({}, { limit: 2 });
    expect(ids(firstTwo)).toEqual([
      '57a9e836-87b8-4a21-9e30-18a474b98fef',
      '4facbf7e-a900-406d-a828-82393f7006b3',
    ]);
    const allById = ids(await search({}, { sort: ['id:asc'] }));
    expect([...allById].sort()).toEqual(allById);
    expect(ids(await search({}, { limit: 2, sort: ['id'] }))).toEqual(allById.slice(0, 2));
    const next = await search({}, { sort: ['id:asc'], marker: allById[1], limit: 4 });
    expect(ids(next)).toEqual(allById.slice(2, 6));
    const filtered = await search(
      {
        or: [
          '36775172-ebc9-4060-9870-a649361bc3ab',
          '4facbf7e-a900-406d-a828-82393f7006b3',
          '57a9e836-87b8-4a21-9e30-18a474b98fef',
        ].map((id) => ({ '=': { id } })),
      },
      { limit: 2, sort: ['id:asc'], marker: '36775172-ebc9-4060-9870-a649361bc3ab' },
    );
    expect(ids(filtered)).toEqual([
      '4facbf7e-a900-406d-a828-82393f7006b3',
      '57a9e836-87b8-4a21-9e30-18a474b98fef',
    ]);
    const descending = ids(await search({}, { sort: ['started_at:desc', 'id:desc'] }));
    const paged: string[] = [];
    for (let marker: string | undefined; ; ) {
      const page = await search({}, { sort: ['started_at:desc', 'id:desc'], limit: 2, marker });
      paged.push(...ids(page));
      if (page.length < 2) break;
      marker = page.at(-1)!.id;
    }
    expect(paged).toEqual(descending);
  });

  it('pages through history with nulls placed as asked (pagination.yaml)', async () => {
    const id = '1e3d5702-2cbf-46e0-ba13-0ddaa3c71150';
    await index.resources.update('generic', id, { endedAt: '2014-01-30T02:02:02' }, { creator: 'foobar' });
    await index.resources.update('generic', id, { endedAt: '2014-01-31T02:02:02' }, { creator: 'foobar' });
    const sorted = await search({}, { history: true, sort: ['id:asc', 'ended_at:desc-nullslast'] });
    expect(sorted.slice(0, 3).map((r) => [r.id, r.endedAt])).toEqual([
      [id, Date.UTC(2014, 0, 31, 2, 2, 2) * 1000],
      [id, Date.UTC(2014, 0, 30, 2, 2, 2) * 1000],
      [id, null],
    ]);
    const sort = ['id:asc', 'ended_at:asc-nullsfirst'];
    const page1 = await search({}, { history: true, sort, limit: 1 });
    expect(page1.map((r) => r.endedAt)).toEqual([null]);
    const page2 = await search({}, { history: true, sort, limit: 1, marker: `${id}@${page1[0]!.revision}` });
    expect(page2.map((r) => r.endedAt)).toEqual([Date.UTC(2014, 0, 30, 2, 2, 2) * 1000]);
    const page3 = await search({}, { history: true, sort, marker: `${id}@${page2[0]!.revision}` });
    expect(page3[0]!.endedAt).toBe(Date.UTC(2014, 0, 31, 2, 2, 2) * 1000);
    expect(page3.at(-1)!.revision).toBe(-1);
  });

  it('refuses bad sort keys, directions, markers and limits', async () => {
    for (const page of [
      { sort: ['invalid:asc'] },
      { sort: ['id:invalid'] },
      { sort: ['id;DROP TABLE resource:asc'] },
      { marker: 'd44b3f4c-27bc-4ace-b81c-2a8e60026874' },
      { marker: "x' OR 1=1" },
      { limit: -2 },
      { limit: 1.5 },
    ]) {
      expect((await refusal(search({}, page))).code, JSON.stringify(page)).toBe('INDEX_INVALID_PAGINATION');
    }
    expect(
      (await refusal(search({}, { history: true, marker: '1e3d5702-2cbf-46e0-ba13-0ddaa3c71150@999' }))).code,
    ).toBe('INDEX_INVALID_PAGINATION');
  });

  it('sorts by custom attributes of the searched type', async () => {
    const byVcpus = await index.resources.search({ type: 'instance', sort: ['vcpus:desc-nullslast'] });
    expect(byVcpus.map((r) => r.attributes.vcpus)).toEqual([8, 4, 2, null]);
    expect((await refusal(index.resources.search({ type: 'generic', sort: ['vcpus:asc'] }))).code).toBe(
      'INDEX_INVALID_PAGINATION',
    );
    expect((await refusal(index.resources.search({ type: 'nope' }))).status).toBe(404);
  });
});
