import { randomUUID } from 'node:crypto';
import type { Index } from '@granary/index';
import { createLogger } from '@granary/observability';
import { type TestIndex, createTestDatabase, createTestIndex } from '@granary/testing/database';
import { KEYSTONE_ADMIN, type Keystone, startKeystone } from '@granary/testing/services';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, indexPort } from '../index.ts';
import { fakeMeasures, restConfig } from './helpers.ts';

/*
 * keystone mode against a real Keystone (installed from PyPI and started by test/infra): a project
 * with a member and an admin made through Keystone's own API, their tokens sent to the API.
 */

const PUBLIC_URL = 'https://keystone.example.org/v3';
/** Short, so a token can be seen to expire (and the API's own service token is re-issued meanwhile). */
const TOKEN_LIFETIME_S = 20;
let keystone: Keystone;
let testIndex: TestIndex;
let keystoneDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let index: Index;
let app: FastifyInstance;
const people = new Map<'member' | 'admin', { userId: string; name: string; password: string }>();
let projectId: string;

async function keystoneCall(method: string, path: string, token: string | undefined, body?: unknown) {
  const response = await fetch(`${keystone.url}/v3${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { 'x-auth-token': token } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok)
    throw new Error(`keystone ${method} ${path}: ${response.status} ${await response.text()}`);
  return response;
}

async function tokenFor(
  user: { name: string; password: string },
  project: { id: string } | { name: string },
) {
  const scope = 'id' in project ? { id: project.id } : { name: project.name, domain: { id: 'default' } };
  const response = await keystoneCall('POST', '/auth/tokens', undefined, {
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: user.name, domain: { id: 'default' }, password: user.password } },
      },
      scope: { project: scope },
    },
  });
  return response.headers.get('x-subject-token')!;
}

beforeAll(async () => {
  keystoneDatabase = await createTestDatabase();
  keystone = await startKeystone(keystoneDatabase.url, { tokenExpirationSeconds: TOKEN_LIFETIME_S });
  const admin = await tokenFor(
    { name: KEYSTONE_ADMIN.username, password: KEYSTONE_ADMIN.password },
    { name: KEYSTONE_ADMIN.project },
  );
  const suffix = randomUUID().slice(0, 8);
  const created = await keystoneCall('POST', '/projects', admin, {
    project: { name: `granary-${suffix}`, domain_id: 'default' },
  });
  projectId = ((await created.json()) as { project: { id: string } }).project.id;
  const roles = (await (await keystoneCall('GET', '/roles', admin)).json()) as {
    roles: { id: string; name: string }[];
  };
  for (const role of ['member', 'admin'] as const) {
    const user = { name: `granary-${role}-${suffix}`, password: randomUUID() };
    const made = await keystoneCall('POST', '/users', admin, {
      user: { ...user, domain_id: 'default', default_project_id: projectId },
    });
    const userId = ((await made.json()) as { user: { id: string } }).user.id;
    const roleId = roles.roles.find((r) => r.name === role)!.id;
    await keystoneCall('PUT', `/projects/${projectId}/users/${userId}/roles/${roleId}`, admin);
    people.set(role, { userId, ...user });
  }

  testIndex = await createTestIndex();
  index = testIndex.index;
  app = await buildApi(
    {
      index: indexPort(index),
      measures: fakeMeasures().port,
      logger: createLogger('keystone-int', 'silent'),
    },
    restConfig({
      auth: {
        mode: 'keystone',
        keystone: {
          url: keystone.url,
          publicUrl: PUBLIC_URL,
          username: KEYSTONE_ADMIN.username,
          password: KEYSTONE_ADMIN.password,
          projectName: KEYSTONE_ADMIN.project,
        },
      },
    }),
  );
}, 900_000);

afterAll(async () => {
  await app?.close();
  await testIndex?.drop();
  await keystone?.stop();
  await keystoneDatabase?.drop();
});

/** A fresh token of `who`, scoped to the test project. */
const as = async (who: 'member' | 'admin') => ({
  'x-auth-token': await tokenFor(people.get(who)!, { id: projectId }),
});
const json = { 'content-type': 'application/json' };

describe('keystone mode', () => {
  it("takes the user, project and creator from a valid token (Gnocchi's user_id:project_id)", async () => {
    const id = randomUUID();
    const create = await app.inject({
      method: 'POST',
      url: '/v1/resource/generic',
      headers: { ...(await as('member')), ...json },
      payload: { id },
    });
    expect(create.statusCode, create.body).toBe(201);
    const member = people.get('member')!;
    expect(create.json()).toMatchObject({
      created_by_user_id: member.userId,
      created_by_project_id: projectId,
      creator: `${member.userId}:${projectId}`,
    });
    const read = await app.inject({
      method: 'GET',
      url: `/v1/resource/generic/${id}`,
      headers: await as('member'),
    });
    expect(read.statusCode).toBe(200);
  });

  it('answers 401 with a Keystone challenge for a missing, unknown or revoked token', async () => {
    const revoked = await tokenFor(
      { name: KEYSTONE_ADMIN.username, password: KEYSTONE_ADMIN.password },
      { name: KEYSTONE_ADMIN.project },
    );
    // A token revoked before the API ever saw it (so no cache can answer for it).
    await fetch(`${keystone.url}/v3/auth/tokens`, {
      method: 'DELETE',
      headers: { 'x-auth-token': revoked, 'x-subject-token': revoked },
    });
    for (const headers of [{}, { 'x-auth-token': 'not-a-token' }, { 'x-auth-token': revoked }]) {
      const answer = await app.inject({ method: 'GET', url: '/v1/resource/generic', headers });
      expect(answer.statusCode, JSON.stringify(headers)).toBe(401);
      expect(answer.headers['www-authenticate']).toBe(`Keystone uri="${PUBLIC_URL}"`);
      expect(answer.json()).toMatchObject({ code: 401 });
    }
  });

  it('refuses a token once it expired, even one it validated and cached before', async () => {
    const headers = await as('member');
    const fresh = await app.inject({ method: 'GET', url: '/v1/resource/generic', headers });
    expect(fresh.statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, (TOKEN_LIFETIME_S + 1) * 1000));
    const expired = await app.inject({ method: 'GET', url: '/v1/resource/generic', headers });
    expect(expired.statusCode).toBe(401);
    expect(expired.headers['www-authenticate']).toBe(`Keystone uri="${PUBLIC_URL}"`);
    // The API's own service token expired too: it got a new one and goes on validating.
    const again = await app.inject({
      method: 'GET',
      url: '/v1/resource/generic',
      headers: await as('member'),
    });
    expect(again.statusCode).toBe(200);
  }, 60_000);

  it('lets the admin role use admin routes and refuses them to a member with 403', async () => {
    const policy = (name: string) => ({ name, definition: [{ granularity: '1 minute', points: 10 }] });
    const byMember = await app.inject({
      method: 'POST',
      url: '/v1/archive_policy',
      headers: { ...(await as('member')), ...json },
      payload: policy(`member-${randomUUID()}`),
    });
    expect(byMember.statusCode).toBe(403);
    const byAdmin = await app.inject({
      method: 'POST',
      url: '/v1/archive_policy',
      headers: { ...(await as('admin')), ...json },
      payload: policy(`admin-${randomUUID()}`),
    });
    expect(byAdmin.statusCode, byAdmin.body).toBe(201);
  });
});
