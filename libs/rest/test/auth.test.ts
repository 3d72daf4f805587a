import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GranaryError } from '@granary/errors';
import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuthConfig, hashPassword } from '../index.ts';
import { BasicAuthenticator } from '../src/auth/basic.ts';
import { AuthSection } from '../src/auth/config.ts';
import { testApi } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'granary-auth-test-'));
const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

async function usersFile(users: { name: string; password: string; roles?: string[] }[]): Promise<string> {
  const path = join(dir, `users-${Math.random().toString(36).slice(2)}.yaml`);
  const lines = ['users:'];
  for (const user of users) {
    lines.push(`  - name: ${user.name}`, `    password: "${await hashPassword(user.password)}"`);
    if (user.roles) lines.push(`    roles: [${user.roles.join(', ')}]`);
  }
  writeFileSync(path, lines.join('\n'));
  return path;
}

const basicConfig = (path: string, overrides: Record<string, unknown> = {}) =>
  Value.Default(AuthSection, { mode: 'basic', basic: { usersFile: path, ...overrides } }) as AuthConfig;

const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (err: unknown) => (err instanceof GranaryError ? err.code : String(err)),
  );

describe('basic auth against a users file', () => {
  it('accepts the right password, refuses a wrong one and an unknown user alike', async () => {
    const path = await usersFile([
      { name: 'alice', password: 's3cret' },
      { name: 'ops', password: 'pw', roles: ['admin'] },
      { name: 'admin', password: 'root' },
    ]);
    const auth = new BasicAuthenticator(basicConfig(path).basic);
    expect(await auth.authenticate({ user: 'alice', password: 's3cret' })).toEqual({
      userId: 'alice',
      projectId: null,
      creator: 'alice',
      isAdmin: false,
      roles: [],
      hasProjectCredential: false,
    });
    expect(await codeOf(auth.authenticate({ user: 'alice', password: 's3cret ' }))).toBe(
      'REST_UNAUTHENTICATED',
    );
    expect(await codeOf(auth.authenticate({ user: 'alice', password: '' }))).toBe('REST_UNAUTHENTICATED');
    expect(await codeOf(auth.authenticate({ user: 'mallory', password: 's3cret' }))).toBe(
      'REST_UNAUTHENTICATED',
    );
    // Gnocchi: the user named admin is the admin; so is anyone the file gives the admin role.
    expect((await auth.authenticate({ user: 'admin', password: 'root' })).isAdmin).toBe(true);
    expect(await auth.authenticate({ user: 'ops', password: 'pw' })).toMatchObject({
      isAdmin: true,
      roles: ['admin'],
    });
  });

  it('remembers a successful check (no scrypt per request) but never a failed one, and forgets after the TTL', async () => {
    const path = await usersFile([{ name: 'alice', password: 'right' }]);
    let now = 1_000_000;
    const auth = new BasicAuthenticator(basicConfig(path, { cacheTtlSeconds: 60 }).basic, () => now);
    const timed = async (password: string) => {
      const start = performance.now();
      const outcome = await codeOf(auth.authenticate({ user: 'alice', password }));
      return { outcome, ms: performance.now() - start };
    };
    const first = await timed('right');
    const cached = await timed('right');
    expect([first.outcome, cached.outcome]).toEqual(['resolved', 'resolved']);
    // scrypt at N=2^14 takes milliseconds; a cache hit is a hash and a Map lookup.
    expect(cached.ms).toBeLessThan(first.ms / 4);
    expect((await timed('wrong')).outcome).toBe('REST_UNAUTHENTICATED');
    now += 61_000;
    const expired = await timed('right');
    expect(expired.outcome).toBe('resolved');
    expect(expired.ms).toBeGreaterThan(cached.ms * 4);
  });

  it('refuses to start without a users file, or with a malformed one', async () => {
    const refusal = (config: Record<string, unknown>) => {
      try {
        new BasicAuthenticator(basicConfig('', config).basic);
        return 'started';
      } catch (err) {
        return (err as GranaryError).code;
      }
    };
    expect(refusal({})).toBe('REST_AUTH_CONFIG');
    expect(refusal({ usersFile: join(dir, 'missing.yaml') })).toBe('REST_AUTH_CONFIG');
    const plain = join(dir, 'plain.yaml');
    writeFileSync(plain, 'users:\n  - name: alice\n    password: hunter2\n');
    expect(refusal({ usersFile: plain })).toBe('REST_AUTH_CONFIG');
    const unknownKey = join(dir, 'unknown-key.yaml');
    writeFileSync(unknownKey, 'users:\n  - name: alice\n    pasword: x\n');
    expect(refusal({ usersFile: unknownKey })).toBe('REST_AUTH_CONFIG');
  });
});

describe('auth configuration', () => {
  it('defaults to basic (which needs a users file) and knows only keystone, basic and noauth', () => {
    expect(Value.Default(AuthSection, {})).toMatchObject({ mode: 'basic', basic: { usersFile: '' } });
    expect(Value.Check(AuthSection, Value.Default(AuthSection, { mode: 'keystone' }))).toBe(true);
    expect(Value.Check(AuthSection, { ...(Value.Default(AuthSection, {}) as object), mode: 'open' })).toBe(
      false,
    );
    expect(
      Value.Check(AuthSection, { ...(Value.Default(AuthSection, {}) as object), keystone: { uri: 'x' } }),
    ).toBe(false);
  });

  it('refuses keystone mode without a Keystone and a service user', async () => {
    await expect(testApi({ auth: { mode: 'keystone' } })).rejects.toMatchObject({ code: 'REST_AUTH_CONFIG' });
  });
});

describe('the API', () => {
  let app: Awaited<ReturnType<typeof testApi>> | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('answers 401 with a Basic challenge for a wrong password, and the caller for the right one', async () => {
    const path = await usersFile([{ name: 'alice', password: 'right' }]);
    app = await testApi({ auth: { basic: { usersFile: path } } });
    const wrong = await app.inject({
      method: 'GET',
      url: '/v1/resource/generic',
      headers: basic('alice', 'x'),
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Basic realm="gnocchi"');
    expect(wrong.json()).toMatchObject({ code: 401 });
    const none = await app.inject({ method: 'GET', url: '/v1/resource/generic' });
    expect([none.statusCode, none.headers['www-authenticate']]).toEqual([401, 'Basic realm="gnocchi"']);
    const right = await app.inject({
      method: 'GET',
      url: '/v1/archive_policy',
      headers: basic('alice', 'right'),
    });
    expect(right.statusCode).toBe(200);
  });

  it('in keystone mode answers 401 with a Keystone challenge without a token, 503 when Keystone is unreachable', async () => {
    app = await testApi({
      auth: {
        mode: 'keystone',
        // Port 9 (discard) on localhost: nothing listens, the connection is refused at once.
        keystone: {
          url: 'http://127.0.0.1:9',
          publicUrl: 'https://keystone.example/v3',
          username: 'gnocchi',
          password: 'x',
        },
      },
    });
    const missing = await app.inject({ method: 'GET', url: '/v1/archive_policy' });
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Keystone uri="https://keystone.example/v3"');
    const unreachable = await app.inject({
      method: 'GET',
      url: '/v1/archive_policy',
      headers: { 'x-auth-token': 'gAAAA-some-token' },
    });
    expect(unreachable.statusCode).toBe(503);
    expect(unreachable.headers['www-authenticate']).toBeUndefined();
    // A token Keystone could never have issued is refused without asking it.
    const malformed = await app.inject({
      method: 'GET',
      url: '/v1/archive_policy',
      headers: { 'x-auth-token': 'caf\u00e9-token' },
    });
    expect(malformed.statusCode).toBe(401);
  });
});
