import { type TestIndex, createTestIndex } from '@granary/testing/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Index, Metric } from '../index.ts';
import { refusal } from './refusal.ts';

describe('metrics (metric-list.yaml, pagination.yaml)', () => {
  let db: TestIndex;
  let index: Index;
  const created: Record<string, Metric> = {};
  beforeAll(async () => {
    db = await createTestIndex();
    index = db.index;
    await index.archivePolicies.create({ name: 'first_archive', definition: [{ granularity: 1 }] });
    await index.archivePolicies.create({ name: 'second_archive', definition: [{ granularity: 1 }] });
  });
  afterAll(() => db.drop());

  it('creates metrics with unit, name and creator; policy embedded', async () => {
    created.m1 = await index.metrics.create({
      name: 'disk.io.rate',
      unit: 'B/s',
      archivePolicyName: 'first_archive',
      creator: 'foobar',
    });
    created.m2 = await index.metrics.create({
      name: 'disk.io.rate',
      unit: 'B/s',
      archivePolicyName: 'first_archive',
      creator: 'foobaz',
    });
    created.m3 = await index.metrics.create({
      name: 'cpu_util',
      unit: '%',
      archivePolicyName: 'first_archive',
      creator: 'jd:proj',
    });
    created.m4 = await index.metrics.create({
      name: 'cpu',
      unit: 'ns',
      archivePolicyName: 'second_archive',
      creator: 'foobar',
    });
    expect(created.m1).toMatchObject({
      name: 'disk.io.rate',
      unit: 'B/s',
      status: 'active',
      resourceId: null,
      lastMeasureTimestamp: null,
      archivePolicy: {
        name: 'first_archive',
        definition: [{ granularity: 1, points: null, timespan: null }],
      },
    });
    expect(await index.metrics.get(created.m1.id)).toEqual(created.m1);
  });

  it('refuses bad input with Gnocchi texts', async () => {
    expect(
      (
        await refusal(
          index.metrics.create({ unit: 'x'.repeat(32), archivePolicyName: 'first_archive', creator: 'a' }),
        )
      ).description,
    ).toMatchObject({
      reason: "length of value must be at most 31 for dictionary value @ data['unit']",
    });
    expect(await refusal(index.metrics.create({ archivePolicyName: 'nope', creator: 'a' }))).toEqual({
      code: 'INDEX_UNKNOWN_ARCHIVE_POLICY',
      status: 400,
      description: 'Archive policy nope does not exist',
    });
    expect(
      (await refusal(index.metrics.create({ name: 'a/b', archivePolicyName: 'first_archive', creator: 'a' })))
        .description,
    ).toBe("'/' is not supported in metric name");
    expect((await refusal(index.metrics.create({ name: 'orphan', creator: 'a' }))).code).toBe(
      'INDEX_NO_ARCHIVE_POLICY_RULE_MATCH',
    );
    expect(
      (
        await refusal(
          index.metrics.create({
            resourceId: 'd5a5994e-ee90-11e4-88cf-685b35afa334',
            name: 'x',
            archivePolicyName: 'first_archive',
            creator: 'a',
          }),
        )
      ).code,
    ).toBe('INDEX_NO_SUCH_RESOURCE');
    expect(
      (
        await refusal(
          index.metrics.create({ id: created.m1!.id, archivePolicyName: 'first_archive', creator: 'a' }),
        )
      ).code,
    ).toBe('INDEX_METRIC_ALREADY_EXISTS');
  });

  it('lists with filters and sorts', async () => {
    expect(await index.metrics.list()).toHaveLength(4);
    expect((await index.metrics.list({ id: created.m1!.id })).map((m) => m.name)).toEqual(['disk.io.rate']);
    expect(await index.metrics.list({ name: 'disk.io.rate' })).toHaveLength(2);
    expect((await index.metrics.list({ unit: 'ns' })).map((m) => m.archivePolicy.name)).toEqual([
      'second_archive',
    ]);
    expect(
      (await index.metrics.list({ archivePolicyName: 'first_archive' }, { sort: ['name:desc'] })).map(
        (m) => m.name,
      ),
    ).toEqual(['disk.io.rate', 'disk.io.rate', 'cpu_util']);
    expect(await index.metrics.list({ creator: 'foobaz' })).toHaveLength(1);
    expect(await index.metrics.list({ createdByUserId: 'jd' })).toHaveLength(1);
    expect(await index.metrics.list({ createdByProjectId: 'proj' })).toHaveLength(1);
    expect(await index.metrics.list({ id: 'not-a-uuid' })).toEqual([]);
  });

  it('paginates with marker and sort, and refuses bad pages', async () => {
    const page1 = await index.metrics.list(
      { archivePolicyName: 'first_archive' },
      { sort: ['name:desc'], limit: 2 },
    );
    const page2 = await index.metrics.list(
      { archivePolicyName: 'first_archive' },
      { sort: ['name:desc'], limit: 2, marker: page1[1]!.id },
    );
    expect(page2.map((m) => m.name)).toEqual(['cpu_util']);
    const all = await index.metrics.list();
    expect(all.map((m) => m.id)).toEqual(all.map((m) => m.id).sort());
    expect((await index.metrics.list({}, { limit: 4, marker: all[1]!.id })).map((m) => m.id)).toEqual(
      all.slice(2).map((m) => m.id),
    );
    for (const page of [
      { sort: ['invalid:asc'] },
      { sort: ['id:invalid'] },
      { marker: 'd44b3f4c-27bc-4ace-b81c-2a8e60026874' },
      { limit: -2 },
    ]) {
      expect((await refusal(index.metrics.list({}, page))).code).toBe('INDEX_INVALID_PAGINATION');
    }
  });

  it('looks metrics up by resource and name, and keeps names unique among active ones', async () => {
    const resource = await index.resources.create({ type: 'generic', id: 'node-1', creator: 'ingest' });
    const metric = await index.metrics.create({
      name: 'cpu',
      resourceId: resource.id,
      archivePolicyName: 'first_archive',
      creator: 'ingest',
    });
    expect((await index.metrics.getByResourceAndName(resource.id, 'cpu'))?.id).toBe(metric.id);
    expect(await index.metrics.getByResourceAndName(resource.id, 'mem')).toBeUndefined();
    expect(
      await refusal(
        index.metrics.create({
          name: 'cpu',
          resourceId: resource.id,
          archivePolicyName: 'first_archive',
          creator: 'x',
        }),
      ),
    ).toEqual({
      code: 'INDEX_NAMED_METRIC_ALREADY_EXISTS',
      status: 409,
      description: 'Named metric cpu already exists',
    });
    await index.metrics.delete(metric.id);
    expect(await index.metrics.getByResourceAndName(resource.id, 'cpu')).toBeUndefined();
    const again = await index.metrics.create({
      name: 'cpu',
      resourceId: resource.id,
      archivePolicyName: 'first_archive',
      creator: 'ingest',
    });
    expect((await index.metrics.listForResource(resource.id)).map((m) => m.id)).toEqual([again.id]);
    expect((await index.metrics.getMany([again.id, metric.id, 'junk'])).map((m) => m.id)).toEqual([again.id]);
  });

  it('deletes (status delete), lists deleted ones and expunges them', async () => {
    await index.metrics.delete(created.m4!.id);
    expect(await refusal(index.metrics.delete(created.m4!.id))).toMatchObject({
      code: 'INDEX_NO_SUCH_METRIC',
      status: 404,
    });
    expect((await index.metrics.get(created.m4!.id))?.status).toBe('delete');
    expect(await index.metrics.list({ unit: 'ns' })).toEqual([]);
    expect(await index.metrics.list({ unit: 'ns', status: 'delete' })).toHaveLength(1);
    const deleted = await index.metrics.listDeleted(100);
    expect(deleted.map((m) => m.id)).toContain(created.m4!.id);
    expect(await index.metrics.expunge([...deleted.map((m) => m.id), created.m1!.id])).toBe(deleted.length);
    expect(await index.metrics.get(created.m4!.id)).toBeUndefined();
    expect(await index.metrics.get(created.m1!.id)).toBeDefined();
  });

  it('last_measure_timestamp only moves forward', async () => {
    const id = created.m1!.id;
    await index.metrics.updateLastMeasureTimestamps([{ metricId: id, timestamp: 1_425_652_437_123_456 }]);
    expect((await index.metrics.get(id))?.lastMeasureTimestamp).toBe(1_425_652_437_123_456);
    await index.metrics.updateLastMeasureTimestamps([{ metricId: id, timestamp: 1_000_000 }]);
    expect((await index.metrics.get(id))?.lastMeasureTimestamp).toBe(1_425_652_437_123_456);
  });
});
