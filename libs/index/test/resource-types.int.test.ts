import { type TestIndex, createTestIndex } from '@granary/testing/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Index } from '../index.ts';
import { refusal } from './refusal.ts';

const CUSTOM_ATTRIBUTES = {
  name: { type: 'string', required: true, max_length: 5, min_length: 2 },
  foobar: { type: 'string', required: false },
  uuid: { type: 'uuid' },
  int: { type: 'number', required: false, min: -2, max: 3 },
  intnomin: { type: 'number', required: false, max: 3 },
  float: { type: 'number', required: false, min: -2.3 },
  bool: { type: 'bool', required: false },
  datetime: { type: 'datetime', required: false },
};

describe('resource types (resource-type.yaml)', () => {
  let db: TestIndex;
  let index: Index;
  beforeAll(async () => {
    db = await createTestIndex();
    index = db.index;
  });
  afterAll(() => db.drop());

  it('refuses bad schemas', async () => {
    expect(
      await refusal(
        index.resourceTypes.create({
          name: 'my_custom_resource',
          attributes: { project_id: { type: 'string' } },
        }),
      ),
    ).toMatchObject({
      code: 'INDEX_INVALID_RESOURCE_TYPE',
      status: 400,
      description: 'Invalid input: Resource attribute name project_id is invalid',
    });
    const bad = [
      { foo: { type: 'string', max_length: 32, min_length: 5, noexist: 'foo' } },
      { name: { type: 'string', required: true, max_length: 2, min_length: 5 } },
      { int: { type: 'number', required: false, max: 3, min: 8 } },
      { x: { type: 'notexist' } },
      { x: { type: 'bool', options: { fill: true } } },
    ];
    for (const attributes of bad) {
      const { code, description } = await refusal(
        index.resourceTypes.create({ name: 'my_custom_resource', attributes }),
      );
      expect(code).toBe('INDEX_INVALID_RESOURCE_TYPE');
      expect(JSON.stringify(description)).toContain('Invalid input');
    }
    expect(await index.resourceTypes.get('my_custom_resource')).toBeUndefined();
  });

  it('creates a type with defaults filled in, once', async () => {
    const type = await index.resourceTypes.create({
      name: 'my_custom_resource',
      attributes: CUSTOM_ATTRIBUTES,
    });
    expect(type).toEqual({
      name: 'my_custom_resource',
      state: 'active',
      attributes: {
        name: { type: 'string', required: true, min_length: 2, max_length: 5 },
        foobar: { type: 'string', required: false, min_length: 0, max_length: 256 },
        uuid: { type: 'uuid', required: true },
        int: { type: 'number', required: false, min: -2, max: 3 },
        intnomin: { type: 'number', required: false, min: null, max: 3 },
        float: { type: 'number', required: false, min: -2.3, max: null },
        bool: { type: 'bool', required: false },
        datetime: { type: 'datetime', required: false },
      },
    });
    // In the declared order, as Gnocchi writes them (jsonb would have sorted them by length).
    expect(Object.keys(type.attributes)).toEqual(Object.keys(CUSTOM_ATTRIBUTES));
    const read = await index.resourceTypes.get('my_custom_resource');
    expect(Object.keys(read?.attributes ?? {})).toEqual(Object.keys(CUSTOM_ATTRIBUTES));
    expect((await index.resourceTypes.list()).map((t) => t.name)).toEqual(['generic', 'my_custom_resource']);
    expect(await refusal(index.resourceTypes.create({ name: 'my_custom_resource' }))).toMatchObject({
      code: 'INDEX_RESOURCE_TYPE_ALREADY_EXISTS',
      status: 409,
    });
  });

  it('validates resources against the schema with voluptuous-style reasons', async () => {
    const create = (attributes: Record<string, unknown>) =>
      index.resources.create({
        type: 'my_custom_resource',
        id: 'd11edfca-4393-4fda-b94d-b05a3a1b3747',
        creator: 'foobar',
        attributes,
      });
    expect(
      await refusal(
        create({ name: 'toolong!!!', foobar: 'what', uuid: '07eb339e-23c0-4be2-be43-cd8247afae3b' }),
      ),
    ).toEqual({
      code: 'INDEX_INVALID_RESOURCE',
      status: 400,
      description: {
        cause: 'Invalid input',
        reason: "length of value must be at most 5 for dictionary value @ data['name']",
        detail: ['name'],
      },
    });
    expect((await refusal(create({ name: 'too', uuid: 'really!' }))).description).toMatchObject({
      reason: "badly formed hexadecimal UUID string for dictionary value @ data['uuid']",
      detail: ['uuid'],
    });
    expect((await refusal(create({ name: 'too' }))).description).toMatchObject({
      reason: "required key not provided @ data['uuid']",
    });
    expect(
      (await refusal(create({ name: 'too', uuid: '07eb339e-23c0-4be2-be43-cd8247afae3b', int: 4 })))
        .description,
    ).toMatchObject({
      reason: "value must be at most 3 for dictionary value @ data['int']",
    });
    expect(
      (await refusal(create({ name: 'too', uuid: '07eb339e-23c0-4be2-be43-cd8247afae3b', what: 1 })))
        .description,
    ).toMatchObject({
      reason: "extra keys not allowed @ data['what']",
    });
    const created = await create({
      name: 'bar',
      foobar: 'what',
      uuid: 'E495EBAD-BE64-46C0-81D6-B079BEB48DF9',
      int: 1,
      datetime: '2017-05-02T11:11:11Z',
    });
    expect(created.attributes).toEqual({
      name: 'bar',
      foobar: 'what',
      uuid: 'e495ebad-be64-46c0-81d6-b079beb48df9',
      int: 1,
      intnomin: null,
      float: null,
      bool: null,
      datetime: Date.UTC(2017, 4, 2, 11, 11, 11) * 1000,
    });
    const patched = await index.resources.update(
      'my_custom_resource',
      created.id,
      { attributes: { name: 'foo' } },
      { creator: 'foobar' },
    );
    expect(patched.attributes).toMatchObject({ name: 'foo', foobar: 'what', int: 1 });
    expect(
      (await index.resources.history('my_custom_resource', created.id)).map((r) => r.attributes.name),
    ).toEqual(['bar', 'foo']);
  });

  it('JSON-patch add/remove with fill updates resources and their history', async () => {
    const type = await index.resourceTypes.patch('my_custom_resource', [
      { op: 'add', path: '/attributes/new-optional-bool', value: { type: 'bool', required: false } },
      {
        op: 'add',
        path: '/attributes/newfilled',
        value: {
          type: 'string',
          required: false,
          min_length: 0,
          max_length: 255,
          options: { fill: 'filled' },
        },
      },
      {
        op: 'add',
        path: '/attributes/newbool',
        value: { type: 'bool', required: true, options: { fill: true } },
      },
      {
        op: 'add',
        path: '/attributes/newint',
        value: { type: 'number', required: true, min: 0, max: 255, options: { fill: 15 } },
      },
      {
        op: 'add',
        path: '/attributes/newuuid',
        value: { type: 'uuid', required: true, options: { fill: '00000000-0000-0000-0000-000000000000' } },
      },
      {
        op: 'add',
        path: '/attributes/newdatetime',
        value: { type: 'datetime', required: true, options: { fill: '2017-10-10T10:10:10Z' } },
      },
      { op: 'remove', path: '/attributes/foobar' },
    ]);
    expect(type.attributes.foobar).toBeUndefined();
    expect(type.attributes.newint).toEqual({ type: 'number', required: true, min: 0, max: 255 });
    const expected = {
      'new-optional-bool': null,
      newfilled: 'filled',
      newbool: true,
      newint: 15,
      newuuid: '00000000-0000-0000-0000-000000000000',
      newdatetime: Date.UTC(2017, 9, 10, 10, 10, 10) * 1000,
    };
    const [past, current] = await index.resources.history(
      'my_custom_resource',
      'd11edfca-4393-4fda-b94d-b05a3a1b3747',
    );
    for (const revision of [past!, current!]) {
      expect(revision.attributes).toMatchObject(expected);
      expect(revision.attributes).not.toHaveProperty('foobar');
    }
    expect(await index.resourceTypes.get('my_custom_resource')).toEqual(type);
  });

  it('making an attribute required needs a fill, used where values are null', async () => {
    await index.resourceTypes.patch('my_custom_resource', [
      {
        op: 'add',
        path: '/attributes/name',
        value: { type: 'string', required: false, min_length: 2, max_length: 5 },
      },
    ]);
    await index.resources.update(
      'my_custom_resource',
      'd11edfca-4393-4fda-b94d-b05a3a1b3747',
      { attributes: { name: null } },
      { creator: 'x' },
    );
    expect(
      await refusal(
        index.resourceTypes.patch('my_custom_resource', [
          {
            op: 'add',
            path: '/attributes/name',
            value: { type: 'string', required: true, min_length: 2, max_length: 5 },
          },
        ]),
      ),
    ).toMatchObject({
      description:
        "Invalid input: Option 'fill' of resource attribute name is invalid: must not be empty if required=True",
    });
    await index.resourceTypes.patch('my_custom_resource', [
      {
        op: 'add',
        path: '/attributes/name',
        value: { type: 'string', required: true, min_length: 2, max_length: 5, options: { fill: 'name' } },
      },
    ]);
    const history = await index.resources.history(
      'my_custom_resource',
      'd11edfca-4393-4fda-b94d-b05a3a1b3747',
    );
    expect(history.map((r) => r.attributes.name)).toEqual(['bar', 'foo', 'name']);
  });

  it("refuses type changes, missing or wrong fills, replace and removing what isn't there", async () => {
    const patch = (ops: unknown) => refusal(index.resourceTypes.patch('my_custom_resource', ops));
    expect(
      (await patch([{ op: 'add', path: '/attributes/name', value: { type: 'number', required: false } }]))
        .description,
    ).toBe(
      'Type update is not available yet. Changing string to number for attribute name of resource my_custom_resource',
    );
    expect(
      (
        await patch([
          { op: 'add', path: '/attributes/missing', value: { type: 'bool', required: true, options: {} } },
        ])
      ).description,
    ).toBe(
      "Invalid input: Option 'fill' of resource attribute missing is invalid: must not be empty if required=True",
    );
    expect(
      (
        await patch([
          {
            op: 'add',
            path: '/attributes/incorrect',
            value: { type: 'number', required: true, options: { fill: 'a-string' } },
          },
        ])
      ).description,
    ).toBe("Invalid input: Option 'fill' of resource attribute incorrect is invalid: expected Real");
    expect(
      (
        await patch([
          { op: 'remove', path: '/attributes/what' },
          { op: 'add', path: '/attributes/what', value: { type: 'string', required: false } },
        ])
      ).description,
    ).toBe("can't remove a non-existent object 'what'");
    expect(
      (await patch([{ op: 'replace', path: '/attributes/newstuff', value: { type: 'string' } }])).description,
    ).toEqual({
      cause: 'Invalid input',
      reason: "not a valid value for dictionary value @ data[0]['op']",
      detail: ['0', 'op'],
    });
    expect(
      (await patch([{ op: 'add', path: '/attributes/x', value: { type: 'notexist', required: false } }]))
        .code,
    ).toBe('INDEX_INVALID_RESOURCE_TYPE');
    const unchanged = await index.resourceTypes.patch('my_custom_resource', [
      {
        op: 'add',
        path: '/attributes/what',
        value: { type: 'string', required: false, min_length: 0, max_length: 255 },
      },
      { op: 'remove', path: '/attributes/what' },
    ]);
    expect(unchanged.attributes.what).toBeUndefined();
  });

  it('a type change and resource writes from other replicas never interleave', async () => {
    await index.resourceTypes.create({ name: 'busy', attributes: { host: { type: 'string' } } });
    const writers = [db.openReplica(), db.openReplica()];
    const creates = Array.from({ length: 40 }, (_, i) =>
      writers[i % 2]!.resources.create({
        type: 'busy',
        id: `busy-${i}`,
        creator: 'c',
        attributes: { host: `h${i}` },
      }).then(
        () => 'created',
        (err: { code?: string }) => err.code,
      ),
    );
    const patch = index.resourceTypes.patch('busy', [
      {
        op: 'add',
        path: '/attributes/zone',
        value: { type: 'string', required: true, options: { fill: 'nova' } },
      },
    ]);
    const outcomes = await Promise.all(creates);
    await patch;
    // Creates validated after the change lack the now-required zone and are refused; the others get the fill.
    expect(outcomes.every((o) => o === 'created' || o === 'INDEX_INVALID_RESOURCE')).toBe(true);
    const resources = await index.resources.search({ type: 'busy' });
    expect(resources).toHaveLength(outcomes.filter((o) => o === 'created').length);
    expect(resources.every((r) => r.attributes.zone === 'nova')).toBe(true);
  });

  it('a type in use cannot be deleted; generic never', async () => {
    expect(await refusal(index.resourceTypes.delete('my_custom_resource'))).toEqual({
      code: 'INDEX_RESOURCE_TYPE_IN_USE',
      status: 400,
      description: 'Resource type my_custom_resource is still in use',
    });
    expect((await refusal(index.resourceTypes.delete('generic'))).code).toBe('INDEX_RESOURCE_TYPE_IN_USE');
    await index.resources.delete('my_custom_resource', 'd11edfca-4393-4fda-b94d-b05a3a1b3747');
    await index.resourceTypes.delete('my_custom_resource');
    expect(await refusal(index.resourceTypes.delete('✔éñ☃'))).toMatchObject({
      code: 'INDEX_NO_SUCH_RESOURCE_TYPE',
      status: 404,
      description: 'Resource type ✔éñ☃ does not exist',
    });
    await index.resourceTypes.create({ name: 'my_custom_resource' });
    await index.resourceTypes.delete('my_custom_resource');
  });
});
