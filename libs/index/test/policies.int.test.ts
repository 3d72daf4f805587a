import { type TestIndex, createTestIndex } from '@granary/testing/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GNOCCHI_DEFAULT_ARCHIVE_POLICIES, type Index, LATEST_SCHEMA_VERSION } from '../index.ts';
import { refusal } from './refusal.ts';

describe('migrations', () => {
  let db: TestIndex;
  beforeAll(async () => {
    db = await createTestIndex({ migrate: false });
  });
  afterAll(() => db.drop());

  it('run once when several replicas start together, and again as a no-op', async () => {
    const replicas = [db.index, db.openReplica(), db.openReplica(), db.openReplica()];
    const results = await Promise.all(replicas.map((r) => r.migrate()));
    // Every version applied once, by one of them.
    const versions = Array.from({ length: LATEST_SCHEMA_VERSION }, (_, at) => at + 1);
    expect(results.flatMap((r) => r.applied)).toEqual(versions);
    expect(results.every((r) => r.version === LATEST_SCHEMA_VERSION)).toBe(true);
    expect(await db.index.migrate()).toEqual({ applied: [], version: LATEST_SCHEMA_VERSION });
    expect((await db.index.resourceTypes.list()).map((t) => t.name)).toEqual(['generic']);
  });
});

describe('seeds', () => {
  let db: TestIndex;
  beforeAll(async () => {
    db = await createTestIndex();
  });
  afterAll(() => db.drop());

  it('"empty" creates nothing', async () => {
    expect(await db.index.seed('empty')).toEqual({ created: false });
    expect(await db.index.archivePolicies.list()).toEqual([]);
  });

  it('"defaults" creates Gnocchi\'s policies and rule once, even from concurrent replicas', async () => {
    const results = await Promise.all([
      db.index.seed('defaults'),
      db.openReplica().seed('defaults'),
      db.openReplica().seed('defaults'),
    ]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const policies = await db.index.archivePolicies.list();
    expect(policies.map((p) => p.name)).toEqual(['bool', 'high', 'low', 'medium']);
    expect(policies.find((p) => p.name === 'medium')).toEqual({
      name: 'medium',
      backWindow: 0,
      definition: [
        { granularity: 60, points: 10080, timespan: 604800 },
        { granularity: 3600, points: 8760, timespan: 31536000 },
      ],
      aggregationMethods: ['mean', 'min', 'max', 'sum', 'std', 'count'],
    });
    expect(policies.find((p) => p.name === 'bool')).toMatchObject({
      backWindow: 3600,
      aggregationMethods: ['last'],
    });
    expect(await db.index.archivePolicyRules.list()).toEqual([
      { name: 'default', metricPattern: '*', archivePolicyName: 'low' },
    ]);
    expect(policies).toHaveLength(GNOCCHI_DEFAULT_ARCHIVE_POLICIES.length);
  });

  it('does not seed an index that already has policies', async () => {
    await db.index.archivePolicyRules.delete('default');
    expect(await db.index.seed('defaults')).toEqual({ created: false });
  });
});

describe('archive policies and rules', () => {
  let db: TestIndex;
  let index: Index;
  beforeAll(async () => {
    db = await createTestIndex();
    index = db.index;
  });
  afterAll(() => db.drop());

  it('create, get, list; duplicate → 409; unicode names', async () => {
    const created = await index.archivePolicies.create({
      name: 'medium',
      definition: [{ granularity: 1, points: 20 }, { granularity: 2 }],
    });
    expect(created.definition).toEqual([
      { granularity: 1, points: 20, timespan: 20 },
      { granularity: 2, points: null, timespan: null },
    ]);
    expect(await index.archivePolicies.get('medium')).toEqual(created);
    expect(
      await refusal(index.archivePolicies.create({ name: 'medium', definition: [{ granularity: 1 }] })),
    ).toEqual({
      code: 'INDEX_ARCHIVE_POLICY_ALREADY_EXISTS',
      status: 409,
      description: 'Archive policy medium already exists',
    });
    await index.archivePolicies.create({ name: '✔éñ☃', definition: [{ granularity: 60, points: 20 }] });
    expect((await index.archivePolicies.get('✔éñ☃'))?.name).toBe('✔éñ☃');
    await index.archivePolicies.delete('✔éñ☃');
    expect(await refusal(index.archivePolicies.delete('✔éñ☃'))).toMatchObject({
      code: 'INDEX_NO_SUCH_ARCHIVE_POLICY',
      status: 404,
      description: 'Archive policy ✔éñ☃ does not exist',
    });
  });

  it("updates keep granularities (archive.yaml's PATCH cases)", async () => {
    expect(
      await refusal(index.archivePolicies.update('medium', { definition: [{ granularity: 1, points: 50 }] })),
    ).toMatchObject({
      code: 'INDEX_UNSUPPORTED_ARCHIVE_POLICY_CHANGE',
      description: 'Archive policy medium does not support change: Cannot add or drop granularities',
    });
    expect(
      await refusal(
        index.archivePolicies.update('medium', {
          definition: [{ granularity: 5, points: 20 }, { granularity: 2 }],
        }),
      ),
    ).toMatchObject({
      description: 'Archive policy medium does not support change: 1.0 granularity interval was changed',
    });
    expect(
      await refusal(
        index.archivePolicies.update('medium', {
          definition: [{ granularity: 1, points: 50, timespan: 3600 }, { granularity: 2 }],
        }),
      ),
    ).toMatchObject({ description: 'timespan ≠ granularity × points' });
    const updated = await index.archivePolicies.update('medium', {
      definition: [{ granularity: 1, points: 50 }, { granularity: 2 }],
    });
    expect(updated.definition[0]).toEqual({ granularity: 1, points: 50, timespan: 50 });
    expect(await index.archivePolicies.get('medium')).toEqual(updated);
  });

  it('lowering the back window flags the policy metrics for re-truncation', async () => {
    await index.archivePolicies.create({ name: 'windowed', backWindow: 3, definition: [{ granularity: 1 }] });
    const metric = await index.metrics.create({ archivePolicyName: 'windowed', creator: 'admin' });
    await index.archivePolicies.update('windowed', { definition: [{ granularity: 1 }], backWindow: 5 });
    expect((await index.metrics.get(metric.id))?.needsRawDataTruncation).toBe(false);
    await index.archivePolicies.update('windowed', { definition: [{ granularity: 1 }], backWindow: 1 });
    expect((await index.metrics.get(metric.id))?.needsRawDataTruncation).toBe(true);
    await index.metrics.clearRawDataTruncation([metric.id]);
    expect((await index.metrics.get(metric.id))?.needsRawDataTruncation).toBe(false);
  });

  it('a policy used by a metric or a rule cannot be deleted', async () => {
    await index.archivePolicies.create({ name: 'large', definition: [{ granularity: 3600 }] });
    await index.metrics.create({ archivePolicyName: 'large', creator: 'foobar' });
    expect(await refusal(index.archivePolicies.delete('large'))).toEqual({
      code: 'INDEX_ARCHIVE_POLICY_IN_USE',
      status: 400,
      description: 'Archive policy large is still in use',
    });
    await index.archivePolicies.create({ name: 'low', definition: [{ granularity: 3600 }] });
    await index.archivePolicyRules.create({
      name: 'uses_low',
      metricPattern: 'x.*',
      archivePolicyName: 'low',
    });
    expect((await refusal(index.archivePolicies.delete('low'))).code).toBe('INDEX_ARCHIVE_POLICY_IN_USE');
    await index.archivePolicyRules.delete('uses_low');
    await index.archivePolicies.delete('low');
  });

  it("rules: Gnocchi's order, fnmatch resolution, rename, errors (archive-rule.yaml)", async () => {
    await index.archivePolicyRules.create({
      name: 'test_rule1',
      metricPattern: '*',
      archivePolicyName: 'medium',
    });
    await index.archivePolicyRules.create({
      name: 'test_rule2',
      metricPattern: 'disk.foo.*',
      archivePolicyName: 'large',
    });
    await index.archivePolicyRules.create({
      name: 'test_rule3',
      metricPattern: 'disk.*',
      archivePolicyName: 'windowed',
    });
    expect((await index.archivePolicyRules.list()).map((r) => r.metricPattern)).toEqual([
      'disk.foo.*',
      'disk.*',
      '*',
    ]);
    expect(await index.archivePolicyRules.policyFor('disk.foo.bar')).toBe('large');
    expect(await index.archivePolicyRules.policyFor('disk.io')).toBe('windowed');
    expect(await index.archivePolicyRules.policyFor('cpu')).toBe('medium');
    expect(await index.archivePolicyRules.policyFor(null)).toBe('medium');

    expect(
      await refusal(
        index.archivePolicyRules.create({
          name: 'test_rule',
          metricPattern: 'disk.foo.*',
          archivePolicyName: 'not-exists',
        }),
      ),
    ).toEqual({
      code: 'INDEX_UNKNOWN_ARCHIVE_POLICY',
      status: 400,
      description: { cause: 'Archive policy does not exist', detail: 'not-exists' },
    });
    expect(
      (
        await refusal(
          index.archivePolicyRules.create({
            name: 'test_rule1',
            metricPattern: 'a',
            archivePolicyName: 'medium',
          }),
        )
      ).code,
    ).toBe('INDEX_ARCHIVE_POLICY_RULE_ALREADY_EXISTS');

    const renamed = await index.archivePolicyRules.rename('test_rule3', 'test_rule3_renamed');
    expect(renamed).toEqual({
      name: 'test_rule3_renamed',
      metricPattern: 'disk.*',
      archivePolicyName: 'windowed',
    });
    expect(await index.archivePolicyRules.get('test_rule3')).toBeUndefined();
    expect(await refusal(index.archivePolicyRules.rename('test_rule2', 'test_rule3_renamed'))).toMatchObject({
      code: 'INDEX_ARCHIVE_POLICY_RULE_ALREADY_EXISTS',
      description: 'Archive policy rule test_rule3_renamed already exists.',
    });
    for (const name of ['test_rule1', 'test_rule2', 'test_rule3_renamed'])
      await index.archivePolicyRules.delete(name);
    expect(await refusal(index.archivePolicyRules.delete('✔éñ☃'))).toMatchObject({
      code: 'INDEX_NO_SUCH_ARCHIVE_POLICY_RULE',
      status: 404,
      description: 'Archive policy rule ✔éñ☃ does not exist',
    });
  });
});
