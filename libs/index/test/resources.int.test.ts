import { type TestIndex, createTestIndex } from '@granary/testing/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Index, parseResourceFilter, resourceUuid } from '../index.ts';
import { refusal } from './refusal.ts';

const USER = '0fbb231484614b1a80131fc22f6afc9c';
const PROJECT = 'f3d41b770cc14f0bb94a1d5be9c0e3ea';

describe('resources (resource.yaml, transformed ids, history)', () => {
  let db: TestIndex;
  let index: Index;
  beforeAll(async () => {
    db = await createTestIndex();
    index = db.index;
    await index.archivePolicies.create({ name: 'medium', definition: [{ granularity: 1 }] });
    await index.archivePolicyRules.create({
      name: 'test_rule',
      metricPattern: 'disk.io.*',
      archivePolicyName: 'medium',
    });
  });
  afterAll(() => db.drop());

  it('creates a generic resource; the same id again is a 409', async () => {
    const created = await index.resources.create({
      type: 'generic',
      id: 'f93450f2-d8a5-4d67-9985-02511241e7d1',
      creator: 'foobar',
      startedAt: '2014-01-03T02:02:02.000000',
      userId: USER,
      projectId: PROJECT,
    });
    expect(created).toMatchObject({
      id: 'f93450f2-d8a5-4d67-9985-02511241e7d1',
      type: 'generic',
      creator: 'foobar',
      originalResourceId: 'f93450f2-d8a5-4d67-9985-02511241e7d1',
      startedAt: Date.UTC(2014, 0, 3, 2, 2, 2) * 1000,
      endedAt: null,
      userId: USER,
      projectId: PROJECT,
      revisionEnd: null,
      revision: -1,
      attributes: {},
      metrics: {},
    });
    expect(
      await refusal(
        index.resources.create({
          type: 'generic',
          id: 'f93450f2-d8a5-4d67-9985-02511241e7d1',
          creator: 'foobar',
        }),
      ),
    ).toEqual({
      code: 'INDEX_RESOURCE_ALREADY_EXISTS',
      status: 409,
      description: 'Resource f93450f2-d8a5-4d67-9985-02511241e7d1 already exists',
    });
    expect(await refusal(index.resources.create({ type: 'nope', id: 'x', creator: 'foobar' }))).toMatchObject(
      {
        code: 'INDEX_NO_SUCH_RESOURCE_TYPE',
        status: 404,
      },
    );
  });

  it('maps non-UUID ids to UUIDv5 per creator and keeps the original id', async () => {
    const mine = await index.resources.create({ type: 'generic', id: 'compute-1', creator: 'foo:bar' });
    const theirs = await index.resources.create({ type: 'generic', id: 'compute-1', creator: 'other' });
    expect(mine.id).toBe('bf1d40db-9303-59af-9645-219d53289143');
    expect(mine.originalResourceId).toBe('compute-1');
    expect(theirs.id).toBe(resourceUuid('compute-1', 'other'));
    expect(await refusal(index.resources.create({ type: 'generic', id: 'a/b', creator: 'x' }))).toMatchObject(
      {
        code: 'INDEX_INVALID_RESOURCE',
        description: {
          reason: "'/' is not supported in resource id for dictionary value @ data['id']",
          detail: ['id'],
        },
      },
    );
  });

  it('refuses a start after the end, on create and on update', async () => {
    const bad = {
      type: 'generic',
      id: '95C44741-CC60-4033-804E-2D3098C7D2E9',
      creator: 'foobar',
      startedAt: '2014-12-15T02:59:43',
      endedAt: '2001-12-15T02:59:43',
    };
    expect(await refusal(index.resources.create(bad))).toMatchObject({
      code: 'INDEX_INVALID_RESOURCE',
      description: 'Start timestamp cannot be after end timestamp',
    });
    expect((await refusal(index.resources.create({ ...bad, startedAt: undefined }))).description).toBe(
      'Start timestamp cannot be after end timestamp',
    );
    expect(
      (
        await refusal(
          index.resources.update(
            'generic',
            'f93450f2-d8a5-4d67-9985-02511241e7d1',
            { endedAt: '2001-01-01' },
            { creator: 'x' },
          ),
        )
      ).description,
    ).toBe('Start timestamp cannot be after end timestamp');
  });

  it('records a revision only when something changed; metrics never make one', async () => {
    const id = '75c44741-cc60-4033-804e-2d3098c7d2e9';
    const created = await index.resources.create({
      type: 'generic',
      id: '75C44741-CC60-4033-804E-2D3098C7D2E9',
      creator: 'foobar',
      userId: USER,
      projectId: PROJECT,
    });
    expect(created.originalResourceId).toBe('75C44741-CC60-4033-804E-2D3098C7D2E9');
    const patched = await index.resources.update('generic', id, { userId: 'foobar' }, { creator: 'foobar' });
    expect(patched.userId).toBe('foobar');
    expect(patched.revisionStart).toBeGreaterThan(created.revisionStart);
    const same = await index.resources.update('generic', id, { userId: 'foobar' }, { creator: 'foobar' });
    expect(same.revisionStart).toBe(patched.revisionStart);
    const withMetric = await index.resources.update(
      'generic',
      id,
      { metrics: { 'disk.iops': { archivePolicyName: 'medium' } } },
      { creator: 'foobar' },
    );
    expect(Object.keys(withMetric.metrics)).toEqual(['disk.iops']);
    const history = await index.resources.history('generic', id, { sort: ['revision_end:asc-nullslast'] });
    expect(history.map((r) => [r.userId, r.revision === -1, r.revisionEnd === null])).toEqual([
      [USER, false, false],
      ['foobar', true, true],
    ]);
    expect(history[0]!.revisionEnd).toBe(history[1]!.revisionStart);
    expect(history[1]!.metrics['disk.iops']).toBe(withMetric.metrics['disk.iops']);
    // Gnocchi's history links: marker `id@revision`, page by page.
    const page1 = await index.resources.history('generic', id, {
      sort: ['revision_end:asc-nullslast'],
      limit: 1,
    });
    const page2 = await index.resources.history('generic', id, {
      sort: ['revision_end:asc-nullslast'],
      limit: 1,
      marker: `${page1[0]!.id}@${page1[0]!.revision}`,
    });
    expect(page2.map((r) => r.revision)).toEqual([-1]);
  });

  it('attaches metrics by spec, by id, by rule, and reports what Gnocchi reports', async () => {
    const id = '75c44741-cc60-4033-804e-2d3098c7d2e9';
    const update = (metrics: Record<string, unknown>) =>
      index.resources.update(
        'generic',
        id,
        { metrics: metrics as Record<string, string> },
        { creator: 'foobar' },
      );
    expect(await refusal(update({ 'disk.iops': 'f3d41b77-0cc1-4f0b-b94a-1d5be9c0e3ea' }))).toEqual({
      code: 'INDEX_UNKNOWN_METRIC',
      status: 400,
      description: 'Metric f3d41b77-0cc1-4f0b-b94a-1d5be9c0e3ea does not exist',
    });
    expect((await refusal(update({ 'disk.iops': { archivePolicyName: 'noexist' } }))).description).toBe(
      'Archive policy noexist does not exist',
    );
    expect(await refusal(update({ 'disk.iops': {} }))).toMatchObject({
      code: 'INDEX_NO_ARCHIVE_POLICY_RULE_MATCH',
      status: 400,
      description:
        'No archive policy name specified and no archive policy rule found matching the metric name disk.iops',
    });
    expect(await refusal(update({ 'disk/iops': { archivePolicyName: 'medium' } }))).toMatchObject({
      code: 'INDEX_INVALID_METRIC',
      description: "'/' is not supported in metric name",
    });
    expect((await refusal(update({ 'cpu.util': 10 }))).code).toBe('INDEX_INVALID_METRIC');
    const viaRule = await update({ 'disk.io.rate': {} });
    expect(Object.keys(viaRule.metrics)).toEqual(['disk.io.rate']);
    expect((await index.metrics.get(viaRule.metrics['disk.io.rate']!))?.archivePolicy.name).toBe('medium');

    const standalone = await index.metrics.create({ archivePolicyName: 'medium', creator: 'foobar' });
    const attached = await index.resources.addMetrics(
      'generic',
      id,
      { 'electron.spin': standalone.id },
      { creator: 'foobar' },
    );
    expect(attached.metrics).toEqual({
      'disk.io.rate': viaRule.metrics['disk.io.rate'],
      'electron.spin': standalone.id,
    });
    expect(
      await refusal(
        index.resources.addMetrics(
          'generic',
          id,
          { 'electron.spin': { archivePolicyName: 'medium' } },
          { creator: 'foobar' },
        ),
      ),
    ).toEqual({
      code: 'INDEX_NAMED_METRIC_ALREADY_EXISTS',
      status: 409,
      description: 'Named metric electron.spin already exists',
    });
    expect(
      (
        await refusal(
          index.resources.addMetrics(
            'generic',
            'd5a5994e-ee90-11e4-88cf-685b35afa334',
            { x: {} },
            { creator: 'foobar' },
          ),
        )
      ).status,
    ).toBe(404);
  });

  it('gets by type, 404s on the wrong type or a missing id', async () => {
    await index.resourceTypes.create({ name: 'instance', attributes: { host: { type: 'string' } } });
    const instance = await index.resources.create({
      type: 'instance',
      id: 'vm-1',
      creator: 'foobar',
      attributes: { host: 'compute1' },
    });
    expect((await index.resources.get('generic', instance.id))?.attributes).toEqual({ host: 'compute1' });
    expect(await index.resources.get('instance', '75c44741-cc60-4033-804e-2d3098c7d2e9')).toBeUndefined();
    expect(await index.resources.get('generic', 'noexist')).toBeUndefined();
    expect(
      await refusal(
        index.resources.update('generic', '77777777-CC60-4033-804E-2D3098C7D2E9', {}, { creator: 'x' }),
      ),
    ).toEqual({
      code: 'INDEX_NO_SUCH_RESOURCE',
      status: 404,
      description: 'The resource could not be found.',
    });
    expect(
      (
        await refusal(
          index.resources.update('instance', '75c44741-cc60-4033-804e-2d3098c7d2e9', {}, { creator: 'x' }),
        )
      ).status,
    ).toBe(404);
  });

  it('deleting a resource marks its metrics deleted and frees their names', async () => {
    const id = '75c44741-cc60-4033-804e-2d3098c7d2e9';
    const before = await index.resources.get('generic', id);
    await index.resources.delete('generic', id);
    expect(await index.resources.get('generic', id)).toBeUndefined();
    for (const metricId of Object.values(before!.metrics)) {
      expect((await index.metrics.get(metricId))?.status).toBe('delete');
    }
    expect((await refusal(index.resources.delete('generic', id))).code).toBe('INDEX_NO_SUCH_RESOURCE');
  });

  it('batch-deletes by filter and counts what went (resource.yaml)', async () => {
    const ids = [
      'f93450f2-aaaa-4d67-9985-02511241e7d1',
      'f93450f2-bbbb-4d67-9985-02511241e7d1',
      'f93450f2-cccc-4d67-9985-02511241e7d1',
      'f93450f2-dddd-4d67-9985-02511241e7d1',
    ];
    await index.resources.create({
      type: 'generic',
      id: ids[0]!,
      creator: 'foobar',
      startedAt: 1388714522.0,
    });
    await index.resources.create({
      type: 'generic',
      id: ids[1]!,
      creator: 'foobar',
      startedAt: '2014-01-03T02:02:02.000000',
    });
    await index.resources.create({
      type: 'generic',
      id: ids[2]!,
      creator: 'foobar',
      startedAt: '2014-08-04T00:00:00.000000',
    });
    await index.resources.create({
      type: 'generic',
      id: ids[3]!,
      creator: 'foobar',
      startedAt: '2014-08-04T00:00:00.000000',
    });
    const creator = { creator: 'foobar' };
    expect(
      await index.resources.deleteMatching(
        'generic',
        parseResourceFilter({ eq: { started_at: '2014-08-04' } }),
        creator,
      ),
    ).toBe(2);
    expect(
      await index.resources.deleteMatching(
        'generic',
        parseResourceFilter({ in: { id: [ids[0]!, ids[1]!, 'f93450f2-yyyy-4d67-9985-02511241e7d1'] } }),
        creator,
      ),
    ).toBe(2);
    expect(
      await index.resources.deleteMatching('generic', parseResourceFilter({ in: { id: ids } }), creator),
    ).toBe(0);
    expect(
      (await refusal(index.resources.deleteMatching('generic', parseResourceFilter({}), creator))).code,
    ).toBe('INDEX_INVALID_FILTER');
  });
});

describe('concurrent creation', () => {
  let db: TestIndex;
  beforeAll(async () => {
    db = await createTestIndex();
    await db.index.archivePolicies.create({ name: 'low', definition: [{ granularity: 300, points: 12 }] });
  });
  afterAll(() => db.drop());

  it('the same resource from several processes: one row, conflicts for the others', async () => {
    const replicas = [db.index, db.openReplica(), db.openReplica(), db.openReplica()];
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled(
        replicas.map((r) =>
          r.resources.create({
            type: 'generic',
            id: `host-${round}`,
            creator: 'ingest',
            metrics: { cpu: { archivePolicyName: 'low' } },
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const failure of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
        expect(failure.reason).toMatchObject({ code: 'INDEX_RESOURCE_ALREADY_EXISTS', status: 409 });
      }
    }
    const all = await db.index.resources.search({ type: 'generic' });
    expect(all).toHaveLength(5);
    expect((await db.index.metrics.list()).length).toBe(5);
  });

  it('the same named metric of a resource from several processes: one row, conflicts for the others', async () => {
    const resource = await db.index.resources.create({ type: 'generic', id: 'shared', creator: 'ingest' });
    const replicas = [db.index, db.openReplica(), db.openReplica(), db.openReplica()];
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled(
        replicas.map((r) =>
          r.metrics.create({
            name: `m${round}`,
            resourceId: resource.id,
            archivePolicyName: 'low',
            creator: 'ingest',
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const failure of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
        expect(failure.reason).toMatchObject({ code: 'INDEX_NAMED_METRIC_ALREADY_EXISTS', status: 409 });
      }
    }
    expect(await db.index.metrics.listForResource(resource.id)).toHaveLength(5);
  });

  it('concurrent patches of one resource each leave exactly one revision', async () => {
    const resource = await db.index.resources.create({ type: 'generic', id: 'patched', creator: 'api' });
    const replicas = [db.index, db.openReplica(), db.openReplica()];
    await Promise.all(
      replicas.map((r, i) =>
        r.resources.update('generic', resource.id, { userId: `user-${i}` }, { creator: 'api' }),
      ),
    );
    const history = await db.index.resources.history('generic', resource.id);
    expect(history).toHaveLength(4);
    for (const [i, revision] of history.slice(0, -1).entries()) {
      expect(revision.revisionEnd).toBe(history[i + 1]!.revisionStart);
      expect(revision.revisionEnd!).toBeGreaterThanOrEqual(revision.revisionStart);
    }
    const users = history.map((r) => r.userId);
    expect(users[0]).toBeNull();
    expect(new Set(users.slice(1)).size).toBe(3);
  });
});
