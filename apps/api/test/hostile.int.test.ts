import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { type ReadStack, adminHeaders as headers, startReadStack } from '@granary/testing/api-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Requests a hostile tenant can send: each is refused with a 4xx in Gnocchi's error shape (or, for
 * the costly classes, answered), leaves `Object.prototype` as it was, and the API still serves a
 * normal request afterwards. Against the real index (PostgreSQL) and Kafka.
 */

let stack: ReadStack;
let api: ReadStack['api'];
let resourceId: string;
const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort();
const cleanPrototype = prototypeKeys();

const HOSTILE_NAMES = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'];

beforeAll(async () => {
  stack = await startReadStack('api-hostile');
  api = stack.api;
  resourceId = randomUUID();
  const named = HOSTILE_NAMES.filter((name) => name !== '__proto__').map((name) => [
    name,
    { archive_policy_name: 'low' },
  ]);
  const created = await send('POST', '/v1/resource/generic', {
    id: resourceId,
    metrics: { 'cpu.util': { archive_policy_name: 'low' }, ...Object.fromEntries(named) },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  // A body key `__proto__` is refused by the JSON parser; the name can still be given as a value.
  const metric = await send('POST', '/v1/metric', {
    name: '__proto__',
    resource_id: resourceId,
    archive_policy_name: 'low',
  });
  expect(metric.status, JSON.stringify(metric.body)).toBe(201);
});
afterAll(async () => {
  await stack?.stop();
});

interface Answer {
  status: number;
  body: unknown;
}

async function send(method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: { ...headers, ...extra },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

/** Raw bytes on the wire: fetch refuses NUL in URLs and headers, a hostile client does not. */
function sendRaw(path: string, authorization = headers.authorization): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(api.url);
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: 'GET',
        path,
        headers: { authorization },
        insecureHTTPParser: true,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The answer is a client error in Gnocchi's shape, nothing leaked, and the API still works. */
async function expectRefusedCleanly(answer: Answer) {
  expect(answer.status, JSON.stringify(answer.body)).toBeGreaterThanOrEqual(400);
  expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(500);
  expect(answer.body).toMatchObject({ code: answer.status, title: expect.any(String) });
  expect((answer.body as { description?: unknown }).description).toBeDefined();
  await expectUnharmed();
}

async function expectUnharmed() {
  expect(prototypeKeys()).toEqual(cleanPrototype);
  const policy = await send('POST', '/v1/archive_policy', {
    name: `p-${randomUUID()}`,
    definition: [{ granularity: '1s', points: 10 }],
  });
  expect(policy.status, JSON.stringify(policy.body)).toBe(201);
  expect(Object.keys(policy.body as object).sort()).toEqual([
    'aggregation_methods',
    'back_window',
    'definition',
    'name',
  ]);
}

describe('prototype property names', () => {
  for (const name of HOSTILE_NAMES) {
    it(`${name} as a metric name in aggregates by resource answers and poisons nothing`, async () => {
      const answer = await send('POST', '/v1/aggregates?groupby=id', {
        operations: ['metric', name, 'mean'],
        resource_type: 'generic',
        search: { '=': { id: resourceId } },
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const [group] = answer.body as { measures: { measures: Record<string, unknown> } }[];
      expect(Object.hasOwn(group!.measures.measures, resourceId)).toBe(true);
      await expectUnharmed();
    });

    it(`${name} as a search attribute is a 400`, async () => {
      await expectRefusedCleanly(await send('POST', '/v1/search/resource/generic', { '=': { [name]: 'x' } }));
      await expectRefusedCleanly(await send('POST', `/v1/search/resource/generic?filter=${name}%3D1`));
    });

    it(`${name} as a search operator is a 400`, async () => {
      await expectRefusedCleanly(await send('POST', '/v1/search/resource/generic', { [name]: { id: 'x' } }));
      await expectRefusedCleanly(
        await send('POST', '/v1/search/resource/generic', { and: [{ [name]: [{ '=': { id: 'x' } }] }] }),
      );
    });

    it(`${name} as a sort key and a groupby is refused or answered, never a 500`, async () => {
      await expectRefusedCleanly(await send('GET', `/v1/resource/generic?sort=${name}`));
      await expectRefusedCleanly(await send('GET', `/v1/metric?sort=${name}`));
      const grouped = await send('POST', `/v1/aggregates?groupby=${name}`, {
        operations: ['metric', 'cpu.util', 'mean'],
        resource_type: 'generic',
        search: { '=': { id: resourceId } },
      });
      await expectRefusedCleanly(grouped);
    });

    it(`${name} as a resource type, archive policy or attribute name is never a 500`, async () => {
      for (const path of [
        `/v1/resource_type/${name}`,
        `/v1/archive_policy/${name}`,
        `/v1/resource/${name}`,
      ]) {
        await expectRefusedCleanly(await send('GET', path));
      }
      await expectRefusedCleanly(await send('GET', `/v1/resource/generic/${resourceId}/metric/${name}x`));
      await expectRefusedCleanly(
        await send('POST', '/v1/aggregates', { operations: [name, ['metric', randomUUID(), 'mean']] }),
      );
      await expectRefusedCleanly(
        await send('POST', '/v1/aggregates', { operations: ['metric', randomUUID(), name] }),
      );
    });
  }
});

describe('inputs that used to answer 500', () => {
  it('a LIKE pattern ending in a backslash', async () => {
    // PostgreSQL only trips over the trailing escape when matching reaches it: a row must match up to it.
    expect((await send('POST', '/v1/resource/generic', { id: 'like-target' })).status).toBe(201);
    const answer = await send('POST', '/v1/search/resource/generic', {
      like: { original_resource_id: 'like-target\\' },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(500);
    await expectUnharmed();
  });

  it('a lifespan that overflows an interval', async () => {
    await expectRefusedCleanly(
      await send('POST', '/v1/search/resource/generic', { '>': { lifespan: '99999999999999999 weeks' } }),
    );
    await expectRefusedCleanly(
      await send('POST', '/v1/search/resource/generic', { '>': { lifespan: 1e300 } }),
    );
  });

  it('NUL bytes in an id, a path segment, a query value and a basic-auth user name', async () => {
    await expectRefusedCleanly(await send('POST', '/v1/resource/generic', { id: 'a\u0000b' }));
    await expectRefusedCleanly(
      await send('POST', '/v1/metric', { name: 'a\u0000b', archive_policy_name: 'low' }),
    );
    await expectRefusedCleanly(await sendRaw('/v1/resource/generic/a%00b'));
    await expectRefusedCleanly(await sendRaw('/v1/archive_policy/a%00b'));
    await expectRefusedCleanly(await sendRaw(`/v1/resource/generic/${resourceId}/metric/a%00b`));
    await expectRefusedCleanly(await sendRaw('/v1/resource/generic?filter=id%3D%22a%00%22'));
    await expectRefusedCleanly(await sendRaw('/v1/resource/generic?sort=a%00b'));
    await expectRefusedCleanly(await sendRaw('/v1/resource/generic?marker=a%00b'));
    await expectRefusedCleanly(await sendRaw('/v1/metric?marker=a%00b'));
    await expectRefusedCleanly(
      await sendRaw('/v1/resource/generic', `basic ${Buffer.from('ad\u0000min:').toString('base64')}`),
    );
  });

  it('a metric name over the index column size', async () => {
    const name = 'm'.repeat(3000);
    await expectRefusedCleanly(await send('POST', '/v1/metric', { name, archive_policy_name: 'low' }));
    await expectRefusedCleanly(
      await send('POST', `/v1/resource/generic/${resourceId}/metric`, {
        [name]: { archive_policy_name: 'low' },
      }),
    );
    await expectRefusedCleanly(await send('GET', `/v1/resource/generic/${resourceId}/metric/${name}`));
  });

  it('deeply nested JSON where a scalar is expected', async () => {
    const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
    await expectRefusedCleanly(await send('POST', '/v1/aggregates', `{"operations": ${deep}}`));
    const metric = (await send('POST', '/v1/metric', { archive_policy_name: 'low' })).body as { id: string };
    await expectRefusedCleanly(
      await send('POST', `/v1/metric/${metric.id}/measures`, `[{"timestamp": ${deep}, "value": 1}]`),
    );
    const objects = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    await expectRefusedCleanly(await send('POST', '/v1/search/resource/generic', objects));
  });

  it('the glob [z-a]', async () => {
    const answer = await send('POST', '/v1/aggregates', {
      operations: ['metric', '[z-a]', 'mean'],
      resource_type: 'generic',
      search: { '=': { id: resourceId } },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(500);
    expect(answer.body).toMatchObject({ code: answer.status });
    await expectUnharmed();
  });

  it('years 0001-0099 are those years, not 1900-1999', async () => {
    const id = randomUUID();
    const created = await send('POST', '/v1/resource/generic', { id, started_at: '0050-01-01T00:00:00Z' });
    // Before the epoch is Gnocchi's refusal for measures; a resource may start then, or be refused.
    if (created.status === 201) {
      expect((created.body as { started_at: string }).started_at).toMatch(/^0050-01-01/);
    } else await expectRefusedCleanly(created);
    const metric = (await send('POST', '/v1/metric', { archive_policy_name: 'low' })).body as { id: string };
    const measures = await send('POST', `/v1/metric/${metric.id}/measures`, [
      { timestamp: '0099-06-01T00:00:00Z', value: 1 },
    ]);
    expect(measures.status).toBe(400);
    expect(JSON.stringify(measures.body)).toContain('Timestamp must be after Epoch');
  });

  it('ids of 101 to 255 characters are reachable by path or refused at create', async () => {
    for (const length of [101, 200, 255, 300]) {
      const id = 'r'.repeat(length);
      const created = await send('POST', '/v1/resource/generic', { id });
      if (created.status === 201) {
        const fetched = await send('GET', `/v1/resource/generic/${id}`);
        expect(fetched.status, `id of ${length}`).toBe(200);
        expect((fetched.body as { original_resource_id: string }).original_resource_id).toBe(id);
      } else await expectRefusedCleanly(created);
    }
  });

  it('more measures for one metric than one Kafka record holds are written', async () => {
    const metric = (await send('POST', '/v1/metric', { archive_policy_name: 'low' })).body as { id: string };
    const start = Date.parse('2024-01-01T00:00:00Z') / 1000;
    const measures = Array.from({ length: 150_000 }, (_, i) => ({ timestamp: start + i, value: i }));
    const answer = await send('POST', `/v1/metric/${metric.id}/measures`, measures);
    expect([202, 413]).toContain(answer.status);
    if (answer.status === 413) await expectRefusedCleanly(answer);
    await expectUnharmed();
  });
});

describe('requests that could stall every other user are refused or answered', () => {
  it('a backtracking metric-name wildcard', async () => {
    const answer = await send('POST', '/v1/aggregates', {
      operations: ['metric', `${'*a'.repeat(30)}*b`, 'mean'],
      resource_type: 'generic',
      search: { '=': { id: resourceId } },
    });
    // Answered in time: no metric of the resource matches, Gnocchi's NoSuchMetric (404).
    expect(answer.status).toBe(404);
    await expectRefusedCleanly(answer);
    const long = await send('POST', '/v1/aggregates', {
      operations: ['metric', '*'.repeat(100_000), 'mean'],
      resource_type: 'generic',
      search: { '=': { id: resourceId } },
    });
    await expectRefusedCleanly(long);
  });

  it('a repeated sort key with a marker', async () => {
    const sort = Array.from({ length: 2000 }, () => 'sort=id').join('&');
    const answer = await send('GET', `/v1/resource/generic?${sort}&marker=${resourceId}`);
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(500);
    const keys = Array.from({ length: 200 }, (_, i) => `sort=k${i}`).join('&');
    await expectRefusedCleanly(await send('GET', `/v1/resource/generic?${keys}`));
  });

  it('thousands of ids in one aggregates or batch request', async () => {
    const ids = Array.from({ length: 20_000 }, () => randomUUID());
    const tooMany = await send('POST', '/v1/aggregates', {
      operations: ['aggregate', 'mean', ['metric', ...ids.map((id) => [id, 'mean'])]],
    });
    expect(tooMany.body).toMatchObject({ description: { cause: 'Too many metrics' } });
    await expectRefusedCleanly(tooMany);
    for (const [path, entry] of [
      ['/v1/batch/metrics/measures', [{ timestamp: '2024-01-01', value: 1 }]],
      ['/v1/batch/resources/metrics/measures', { m: [{ timestamp: '2024-01-01', value: 1 }] }],
    ] as const) {
      const batch = await send('POST', path, Object.fromEntries(ids.map((id) => [id, entry])));
      expect(batch.body).toMatchObject({ description: { cause: 'Too many entries' } });
      await expectRefusedCleanly(batch);
    }
    await expectRefusedCleanly(
      await send('GET', `/v1/aggregation/metric?${ids.map((id) => `metric=${id}`).join('&')}`),
    );
  });

  it('a rolling window of thousands over a series', async () => {
    const metric = (await send('POST', '/v1/metric', { archive_policy_name: 'low' })).body as { id: string };
    const answer = await send('POST', '/v1/aggregates', {
      operations: ['rolling', 'mean', 1_000_000, ['metric', metric.id, 'mean']],
    });
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(500);
    await expectUnharmed();
  });

  it('a body over the size limit is a 413 in Gnocchi shape', async () => {
    const answer = await send('POST', '/v1/archive_policy', 'x'.repeat(17 * 1024 * 1024));
    expect(answer.status).toBe(413);
    await expectRefusedCleanly(answer);
  });
});
