import { AGGREGATION_METHODS } from '@granary/carbonara';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, FOOBAR, fakeIndex, testApi } from './helpers.ts';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const json = { 'content-type': 'application/json' };
const policy = { name: 'medium', definition: [{ granularity: '1 second', points: 20 }] };

describe('discovery and health', () => {
  it('lists the v1 API at the root with links built from the Host header', async () => {
    app = await testApi();
    const res = await app.inject({ method: 'GET', url: '/', headers: { host: 'api.example:8041' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json().versions[0]).toMatchObject({
      id: 'v1.0',
      status: 'CURRENT',
      links: [{ rel: 'self', href: 'http://api.example:8041/v1/' }],
    });
  });

  it('honours X-Forwarded-* only when configured to trust them', async () => {
    const headers = {
      host: 'internal:8041',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'metrics.example',
      'x-forwarded-prefix': '/gnocchi',
    };
    app = await testApi({ trustForwardedHeaders: true });
    const trusted = await app.inject({ method: 'GET', url: '/v1/', headers });
    expect(trusted.json().links[0].href).toBe('https://metrics.example/gnocchi/v1/');
    await app.close();
    app = await testApi();
    const ignored = await app.inject({ method: 'GET', url: '/v1/', headers });
    expect(ignored.json().links[0].href).toBe('http://internal:8041/v1/');
    const forwarded = await app.inject({
      method: 'GET',
      url: '/',
      headers: { host: 'internal:8041', forwarded: 'for=192.0.2.60;proto=https;host=foobar' },
    });
    expect(forwarded.json().versions[0].links[0].href).toBe('http://internal:8041/v1/');
  });

  it("prefers RFC 7239 Forwarded's first proxy to X-Forwarded-Proto/Host, as oslo's middleware", async () => {
    const api = await testApi({ trustForwardedHeaders: true });
    app = api;
    const href = async (headers: Record<string, string>) =>
      (await api.inject({ method: 'GET', url: '/', headers: { host: 'internal:8041', ...headers } })).json()
        .versions[0].links[0].href;
    // Gnocchi's http-proxy-to-wsgi.yaml, its test prefix /gnocchi arriving as X-Forwarded-Prefix.
    expect(
      await href({ forwarded: 'for=192.0.2.60;proto=http;host=foobar', 'x-forwarded-prefix': '/gnocchi' }),
    ).toBe('http://foobar/gnocchi/v1/');
    expect(
      await href({
        forwarded: 'For=192.0.2.60; Proto=https; Host="metrics.example:8443", for=10.0.0.1;host=inner',
        'x-forwarded-host': 'ignored.example',
      }),
    ).toBe('https://metrics.example:8443/v1/');
    // An element without proto or host keeps the request's own; X-Forwarded-* are not consulted.
    expect(await href({ forwarded: 'for=192.0.2.60', 'x-forwarded-proto': 'https' })).toBe(
      'http://internal:8041/v1/',
    );
    // The prefix is quoted into the URL as webob quotes SCRIPT_NAME; trailing slashes dropped.
    expect(await href({ 'x-forwarded-prefix': '/a b/<x>;v=1/' })).toBe(
      'http://internal:8041/a%20b/%3Cx%3E;v=1/v1/',
    );
  });

  it('answers /healthcheck from the index health', async () => {
    app = await testApi();
    expect((await app.inject({ method: 'GET', url: '/healthcheck' })).statusCode).toBe(200);
    await app.close();
    app = await testApi({}, fakeIndex({ healthy: false }));
    const res = await app.inject({ method: 'GET', url: '/healthcheck' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 503, title: 'Service Unavailable' });
  });

  it('reports the 216 aggregation methods as capabilities', async () => {
    app = await testApi();
    const res = await app.inject({
      method: 'GET',
      url: '/v1/capabilities',
      headers: { authorization: FOOBAR },
    });
    expect(res.json().aggregation_methods).toHaveLength(216);
    expect(new Set(res.json().aggregation_methods)).toEqual(new Set(AGGREGATION_METHODS));
  });

  it('publishes an OpenAPI document generated from the route schemas', async () => {
    app = await testApi();
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(
      doc.paths['/v1/archive_policy'].post.requestBody.content['application/json'].schema.required,
    ).toContain('definition');
    expect(doc.paths['/v1/archive_policy/{name}'].get.parameters[0]).toMatchObject({
      name: 'name',
      in: 'path',
    });
  });
});

describe('status', () => {
  it('reports consumer lag per partition as the backlog, to admins only', async () => {
    const backlog = {
      backlog: async () => [
        { partition: 0, lag: 5, checkpointOffset: 120, owner: 'processor-a' },
        { partition: 1, lag: 0, checkpointOffset: null, owner: null },
      ],
    };
    app = await testApi({}, fakeIndex(), undefined, backlog);
    expect(
      (await app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: FOOBAR } })).statusCode,
    ).toBe(403);
    const status = (
      await app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: ADMIN } })
    ).json();
    expect(status.storage).toEqual({
      summary: { partitions: 1, measures: 5 },
      measures_to_process: { '0': 5 },
    });
    expect(status.metricd).toEqual({
      processors: ['processor-a'],
      statistics: {
        partitions: 2,
        partitions_owned: 1,
        checkpoint_offsets: { '0': 120, '1': null },
        partition_owners: { '0': 'processor-a', '1': null },
      },
    });
    const brief = await app.inject({
      method: 'GET',
      url: '/v1/status?details=False',
      headers: { authorization: ADMIN },
    });
    expect(Object.keys(brief.json().storage)).toEqual(['summary']);
  });

  it('adds each group lag and the members dead letters, dropped points and rebuilds in details', async () => {
    const member = (name: string, service: 'processor' | 'ingest', codes: [string, number][]) => ({
      service,
      member: name,
      at: Date.UTC(2026, 0, 1),
      deadLetters: codes.map(([code, count]) => ({ code, count })),
      droppedTooOld: service === 'processor' ? 4 : 0,
      rebuilds:
        name === 'p1'
          ? [{ metricId: 'm-1', partition: 3, phase: 'accepted', since: Date.UTC(2026, 0, 1, 0, 0, 1) }]
          : [],
    });
    const backlog = {
      backlog: async () => [{ partition: 0, lag: 5, checkpointOffset: 120, owner: 'processor-a' }],
      consumerGroups: async () => [
        { groupId: 'granary-processors', topic: 'granary.measures', lag: 5 },
        { groupId: 'granary-ingest', topic: 'granary.samples', lag: 2 },
      ],
      members: async () => [
        member('i1', 'ingest', [['SCHEMA_UNREADABLE', 1]]),
        member('p1', 'processor', [
          ['SCHEMA_UNREADABLE', 2],
          ['PROCESSING_METRIC_UNKNOWN', 1],
        ]),
        member('p2', 'processor', []),
      ],
    };
    app = await testApi({}, fakeIndex(), undefined, backlog);
    const status = (
      await app.inject({ method: 'GET', url: '/v1/status?details=true', headers: { authorization: ADMIN } })
    ).json();
    expect(status.granary.consumer_groups).toEqual([
      { group: 'granary-processors', topic: 'granary.measures', lag: 5 },
      { group: 'granary-ingest', topic: 'granary.samples', lag: 2 },
    ]);
    expect(status.granary.dead_letters).toEqual([
      { code: 'PROCESSING_METRIC_UNKNOWN', count: 1 },
      { code: 'SCHEMA_UNREADABLE', count: 3 },
    ]);
    expect(status.granary.points_dropped_too_old).toBe(8);
    expect(status.granary.rebuilds).toEqual([
      { member: 'p1', metric_id: 'm-1', partition: 3, phase: 'accepted', since: '2026-01-01T00:00:01.000Z' },
    ]);
    expect(status.granary.members.map((m: { member: string }) => m.member)).toEqual(['i1', 'p1', 'p2']);
    expect(status.granary.members[1]).toMatchObject({
      service: 'processor',
      updated_at: '2026-01-01T00:00:00.000Z',
      points_dropped_too_old: 4,
    });
    const brief = await app.inject({
      method: 'GET',
      url: '/v1/status?details=false',
      headers: { authorization: ADMIN },
    });
    expect(brief.json().granary).toBeUndefined();
  });

  it('shows members as null, not an error, when their statuses cannot be read', async () => {
    const backlog = {
      backlog: async () => [],
      members: async () => {
        throw new Error('redis is away');
      },
    };
    app = await testApi({}, fakeIndex(), undefined, backlog);
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: ADMIN } });
    expect(res.statusCode).toBe(200);
    expect(res.json().granary).toMatchObject({ members: null, dead_letters: [], consumer_groups: [] });
  });

  it('answers 503 when no backlog source is configured', async () => {
    app = await testApi();
    expect(
      (await app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: ADMIN } })).statusCode,
    ).toBe(503);
  });
});

describe('HTTP semantics as Gnocchi', () => {
  it('refuses non-JSON Accept with 406 in the Gnocchi error shape', async () => {
    app = await testApi();
    const res = await app.inject({
      method: 'GET',
      url: '/v1/archive_policy',
      headers: { authorization: FOOBAR, accept: 'text/plain' },
    });
    expect(res.statusCode).toBe(406);
    expect(res.json()).toMatchObject({ code: 406, title: 'Not Acceptable' });
    expect(res.body).toContain('406 Not Acceptable');
    const wildcard = await app.inject({
      method: 'GET',
      url: '/v1/archive_policy',
      headers: { authorization: FOOBAR, accept: 'text/html, */*;q=0.1' },
    });
    expect(wildcard.statusCode).toBe(200);
  });

  it("writes an archive policy with Gnocchi's keys in Gnocchi's order", async () => {
    app = await testApi();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/archive_policy',
      headers: { authorization: ADMIN, ...json },
      payload: policy,
    });
    expect(res.statusCode).toBe(201);
    // ArchivePolicy.jsonify and ArchivePolicyItem.jsonify (gnocchi/archive_policy.py) build them so.
    expect(res.body).toMatch(
      /^\{"name": "medium", "back_window": 0, "definition": \[\{"timespan": "0:00:20", "granularity": "0:00:01", "points": 20\}\], "aggregation_methods": \[/,
    );
  });

  it('refuses a non-JSON body with 415 even when the body is empty', async () => {
    app = await testApi();
    for (const payload of [undefined, 'name=x']) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/archive_policy',
        headers: { authorization: ADMIN, 'content-type': 'text/plain' },
        ...(payload ? { payload } : {}),
      });
      expect(res.statusCode).toBe(415);
      expect(res.body).toContain('Unsupported Media Type');
    }
  });

  it('answers 405 for a known path with an unserved method and 404 for an unknown path', async () => {
    app = await testApi();
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/archive_policy',
      headers: { authorization: ADMIN },
    });
    expect(put.statusCode).toBe(405);
    expect(put.json().code).toBe(405);
    const unknown = await app.inject({
      method: 'GET',
      url: '/v1/nothing',
      headers: { authorization: ADMIN },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 404, title: 'Not Found' });
  });

  it('rejects malformed JSON and oversized bodies with a 4xx and no call to the index', async () => {
    app = await testApi({ bodyLimitBytes: 1024 });
    const malformed = await app.inject({
      method: 'POST',
      url: '/v1/archive_policy',
      headers: { authorization: ADMIN, ...json },
      payload: '{"name": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().description).toMatchObject({ cause: 'Unable to decode body', detail: [] });
    const large = await app.inject({
      method: 'POST',
      url: '/v1/archive_policy',
      headers: { authorization: ADMIN, ...json },
      payload: JSON.stringify({ ...policy, name: 'x'.repeat(2000) }),
    });
    expect(large.statusCode).toBe(413);
    const list = await app.inject({
      method: 'GET',
      url: '/v1/archive_policy',
      headers: { authorization: ADMIN },
    });
    expect(list.json()).toEqual([]);
  });

  it('treats an empty body sent as JSON as no body (bodiless DELETE with the JSON content type)', async () => {
    app = await testApi();
    const res = await app.inject({
      method: 'DELETE',
      url: '/v1/archive_policy/none',
      headers: { authorization: ADMIN, ...json },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().description).toBe('Archive policy none does not exist');
  });

  it('writes JSON the way Python does, so literal matches on the text work', async () => {
    app = await testApi();
    await app.inject({
      method: 'POST',
      url: '/v1/archive_policy',
      headers: { authorization: ADMIN, ...json },
      payload: { ...policy, name: 'ünï' },
    });
    const res = await app.inject({
      method: 'GET',
      url: '/v1/archive_policy',
      headers: { authorization: FOOBAR },
    });
    expect(res.body).toContain('"name": "ünï", "back_window": 0');
  });

  it('maps a coded 5xx from a lib to a generic 500 body without its internals', async () => {
    app = await testApi();
    const res = await app.inject({
      method: 'DELETE',
      url: '/v1/archive_policy/broken',
      headers: { authorization: ADMIN },
    });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({
      code: 500,
      description: 'Internal Server Error',
      title: 'Internal Server Error',
    });
  });
});

describe('authentication and authorisation', () => {
  it('needs credentials (401), then the admin role on admin routes (403), before validating the body', async () => {
    app = await testApi();
    const anonymous = await app.inject({
      method: 'GET',
      url: '/v1/archive_policy',
      headers: { authorization: '' },
    });
    expect(anonymous.statusCode).toBe(401);
    const notAdmin = await app.inject({
      method: 'POST',
      url: '/v1/archive_policy',
      headers: { authorization: FOOBAR, ...json },
      payload: { cowsay: 'moo' },
    });
    expect(notAdmin.statusCode).toBe(403);
    expect(notAdmin.body).toContain('Access was denied to this resource');
  });

  it('in noauth mode trusts X-User-Id / X-Project-Id / X-Roles', async () => {
    app = await testApi({ auth: { mode: 'noauth' } });
    const none = await app.inject({ method: 'GET', url: '/v1/archive_policy' });
    expect(none.statusCode).toBe(401);
    const member = await app.inject({
      method: 'POST',
      url: '/v1/archive_policy',
      headers: { 'x-user-id': 'u1', 'x-project-id': 'p1', 'x-roles': 'member', ...json },
      payload: policy,
    });
    expect(member.statusCode).toBe(403);
    const admin = await app.inject({
      method: 'POST',
      url: '/v1/archive_policy',
      headers: { 'x-user-id': 'u1', 'x-project-id': 'p1', 'x-roles': 'member,admin', ...json },
      payload: policy,
    });
    expect(admin.statusCode).toBe(201);
  });
});

describe('CORS', () => {
  it('answers preflights with the allow headers only for allowed origins, before auth', async () => {
    app = await testApi({ cors: { allowedOrigins: ['http://foobar.com'] } });
    const preflight = (origin: string) =>
      app!.inject({
        method: 'OPTIONS',
        url: '/v1/status',
        headers: { origin, 'access-control-request-method': 'GET' },
      });
    const allowed = await preflight('http://foobar.com');
    expect(allowed.statusCode).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('http://foobar.com');
    expect(allowed.headers['access-control-allow-methods']).toBe('GET');
    const refused = await preflight('http://notallowed.com');
    expect(refused.statusCode).toBe(200);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    expect(refused.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('marks actual responses to an allowed origin', async () => {
    app = await testApi({ cors: { allowedOrigins: ['http://foobar.com'] } });
    const res = await app.inject({ method: 'GET', url: '/', headers: { origin: 'http://foobar.com' } });
    expect(res.headers['access-control-allow-origin']).toBe('http://foobar.com');
  });
});
