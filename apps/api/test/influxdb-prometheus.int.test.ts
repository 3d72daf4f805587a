import { gzipSync } from 'node:zlib';
import { type ReadStack, adminHeaders, startReadStack } from '@granary/testing/api-stack';
import { infra } from '@granary/testing/infra';
import { snappyLiteral, writeRequest } from '@granary/testing/wire-encoders';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The InfluxDB and Prometheus write APIs through the real stack: the index on PostgreSQL, measures
 * produced to Kafka, a processor storing them, read back through the API.
 */

let stack: ReadStack;
let url: string;
const admin = { authorization: adminHeaders.authorization };
/** A user of the test users file without the admin role. */
const member = { authorization: `basic ${Buffer.from('foobar:').toString('base64')}` };

beforeAll(async () => {
  stack = await startReadStack('influx-prom');
  url = stack.api.url;
  await stack.startProcessor(3_600_000);
  // Metrics named `it.*` get 1-second granularity (the default rule would give 5 minutes).
  const rule = await post('/v1/archive_policy_rule', adminHeaders, {
    name: 'it',
    metric_pattern: 'it.*',
    archive_policy_name: 'high',
  });
  expect(rule.status).toBe(201);
});
afterAll(async () => {
  await stack?.stop();
});

function post(path: string, headers: Record<string, string>, body: unknown) {
  const raw = typeof body === 'string' || body instanceof Uint8Array;
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers,
    body: raw ? (body as string | Uint8Array) : JSON.stringify(body),
  });
}

const get = async (path: string, headers: Record<string, string> = admin) => {
  const response = await fetch(`${url}${path}`, { headers });
  return { status: response.status, body: (await response.json()) as unknown };
};

const lines = (db: string, body: string | Uint8Array, extra: Record<string, string> = {}, query = '') =>
  post(`/v1/influxdb/write?db=${db}${query}`, { ...admin, 'content-type': 'text/plain', ...extra }, body);

const remoteWrite = (headers: Record<string, string>, body: Uint8Array) =>
  post('/v1/prometheus/write', { ...headers, 'content-type': 'application/x-protobuf' }, body);

/** Records produced to the measures topic so far (both partitions). */
async function recordsOnTopic(): Promise<number> {
  const kafka = new Kafka({
    clientId: 'influx-prom-int',
    brokers: infra().kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const client = kafka.admin();
  await client.connect();
  try {
    const offsets = await client.fetchTopicOffsets(stack.topic);
    return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
  } finally {
    await client.disconnect();
  }
}

describe('InfluxDB write API', () => {
  it('answers ping with 204 and the version header, on GET and HEAD', async () => {
    for (const method of ['GET', 'HEAD']) {
      const response = await fetch(`${url}/v1/influxdb/ping`, { method, headers: admin });
      expect(response.status).toBe(204);
      expect(response.headers.get('x-influxdb-version')).toBe('Gnocchi 4.7.1');
    }
  });

  it('creates the database as a resource type (q in the query string or a form body), refuses other queries with 501', async () => {
    const form = { ...admin, 'content-type': 'application/x-www-form-urlencoded' };
    expect((await post('/v1/influxdb/query', form, 'q=CREATE+DATABASE+"telegraf"')).status).toBe(204);
    // Again: already there is fine.
    expect((await post('/v1/influxdb/query?q=create%20database%20telegraf', admin, '')).status).toBe(204);
    expect(await get('/v1/resource_type/telegraf')).toEqual({
      status: 200,
      body: { name: 'telegraf', state: 'active', attributes: {} },
    });
    const refused = await post('/v1/influxdb/query?q=SELECT+*+FROM+cpu', admin, '');
    expect(refused.status).toBe(501);
    expect(await refused.json()).toMatchObject({
      description: { cause: 'Not implemented error', detail: 'q', reason: 'Query not implemented' },
    });
    expect((await post('/v1/influxdb/query?q=create+database+x', member, '')).status).toBe(403);
  });

  it('writes lines as resources, metrics and measures in one record per metric, readable back', async () => {
    const before = await recordsOnTopic();
    const written = await lines(
      'telegraf',
      [
        'it,host=web1,cpu=cpu0 usage_idle=90.5,usage_user=9i,note="string fields are skipped" 1714564800',
        'it,host=web1,cpu=cpu0 usage_idle=80.5,on=true 1714564801',
        'it,host=web2,path=/var/log,cpu=cpu1 free=42u 1714564800',
        'it,host=web2 load=1.5 1714564800',
      ].join('\n'),
      {},
      '&precision=s',
    );
    expect(written.status).toBe(204);
    // Four metrics: usage_idle (two points), usage_user, free and load; one record each.
    expect((await recordsOnTopic()) - before).toBe(4);

    const web1 = (await get('/v1/resource/telegraf/web1')).body as Record<string, unknown>;
    expect(web1).toMatchObject({ type: 'telegraf', original_resource_id: 'web1', creator: 'admin' });
    expect(Object.keys(web1.metrics as object).sort()).toEqual([
      'it.usage_idle@cpu=cpu0',
      'it.usage_user@cpu=cpu0',
    ]);
    const web2 = (await get('/v1/resource/telegraf/web2')).body as Record<string, unknown>;
    // Tags in order, `/` as `_`, no `@` without other tags.
    expect(Object.keys(web2.metrics as object).sort()).toEqual(['it.free@cpu=cpu1,path=_var_log', 'it.load']);

    expect(
      await get(
        `/v1/resource/telegraf/web1/metric/${encodeURIComponent('it.usage_idle@cpu=cpu0')}/measures?refresh=true&granularity=1`,
      ),
    ).toEqual({
      status: 200,
      body: [
        ['2024-05-01T12:00:00+00:00', 1, 90.5],
        ['2024-05-01T12:00:01+00:00', 1, 80.5],
      ],
    });
    expect(
      (await get('/v1/resource/telegraf/web2/metric/it.load/measures?refresh=true&granularity=1')).body,
    ).toEqual([['2024-05-01T12:00:00+00:00', 1, 1.5]]);
  });

  it('takes the resource id from the tag the header names, and adds new metrics to an existing resource', async () => {
    const written = await lines('telegraf', 'it,host=web1,rack=r7 temp=21 1714564800000000000', {
      'x-gnocchi-influxdb-tag-resource-id': 'rack',
    });
    expect(written.status).toBe(204);
    expect((await get('/v1/resource/telegraf/r7')).body).toMatchObject({
      metrics: { 'it.temp@host=web1': expect.any(String) },
    });
    expect((await lines('telegraf', 'it,host=web1,cpu=cpu0 extra=1 1714564800000000000')).status).toBe(204);
    const web1 = (await get('/v1/resource/telegraf/web1')).body as { metrics: object };
    expect(Object.keys(web1.metrics)).toContain('it.extra@cpu=cpu0');
  });

  it('reads the body whatever its media type (none, form-encoded as curl sends it) or gzipped, up to the body limit', async () => {
    const plain = await fetch(`${url}/v1/influxdb/write?db=telegraf`, {
      method: 'POST',
      headers: admin,
      body: new Blob([Buffer.from('it,host=typeless f=1 1714564800000000000')]),
    });
    expect(plain.status).toBe(204);
    const form = await lines('telegraf', 'it,host=formed f=1 1714564800000000000', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(204);
    expect((await get('/v1/resource/telegraf/typeless')).status).toBe(200);
    expect((await get('/v1/resource/telegraf/formed')).status).toBe(200);
    const gzipped = await lines('telegraf', gzipSync('it,host=zipped f=1 1714564800000000000'), {
      'content-encoding': 'gzip',
    });
    expect(gzipped.status).toBe(204);
    expect((await get('/v1/resource/telegraf/zipped')).status).toBe(200);
    // The API's default bodyLimitBytes is 16 MiB.
    const tooLarge = await lines('telegraf', `it,host=big f=1 1\n${'#'.repeat(17 * 1024 * 1024)}`);
    expect(tooLarge.status).toBe(413);
  });

  it('creates a new resource and its metrics once when writers race for them', async () => {
    const body = 'it,host=raced a=1,b=2 1714564800000000000';
    const answers = await Promise.all(Array.from({ length: 6 }, () => lines('telegraf', body)));
    expect(answers.map((answer) => answer.status)).toEqual([204, 204, 204, 204, 204, 204]);
    const resource = (await get('/v1/resource/telegraf/raced')).body as { metrics: object };
    expect(Object.keys(resource.metrics).sort()).toEqual(['it.a', 'it.b']);
    // A second wave adds one metric to the now existing resource, again from racing writers.
    const more = await Promise.all(
      Array.from({ length: 6 }, () => lines('telegraf', 'it,host=raced c=3 1714564800000000000')),
    );
    expect(more.map((answer) => answer.status)).toEqual([204, 204, 204, 204, 204, 204]);
    const after = (await get('/v1/resource/telegraf/raced')).body as { metrics: object };
    expect(Object.keys(after.metrics).sort()).toEqual(['it.a', 'it.b', 'it.c']);
  });

  it('keeps hostile names as data: __proto__ and constructor as measurement, tags, fields and resource', async () => {
    const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
    const written = await lines(
      'telegraf',
      [
        'it.__proto__,host=__proto__,constructor=prototype __proto__=3 1714564800',
        'it,host=constructor,__proto__=polluted constructor=1,toString=2,hasOwnProperty=3 1714564800',
      ].join('\n'),
    );
    expect(written.status).toBe(204);
    const resource = (await get('/v1/resource/telegraf/__proto__')).body as { metrics: object };
    expect(Object.keys(resource.metrics)).toEqual(['it.__proto__.__proto__@constructor=prototype']);
    const other = (await get('/v1/resource/telegraf/constructor')).body as { metrics: object };
    expect(Object.keys(other.metrics).sort()).toEqual([
      'it.constructor@__proto__=polluted',
      'it.hasOwnProperty@__proto__=polluted',
      'it.toString@__proto__=polluted',
    ]);
    // The API runs in this process: nothing reached Object.prototype.
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses a resource id that another type's resource holds with Gnocchi's 409", async () => {
    const taken = await post('/v1/resource/generic', adminHeaders, { id: 'taken-elsewhere' });
    expect(taken.status).toBe(201);
    const id = ((await taken.json()) as { id: string }).id;
    const refused = await lines('telegraf', 'it,host=taken-elsewhere f=1');
    expect(refused.status).toBe(409);
    expect(await refused.json()).toEqual({
      code: 409,
      title: 'Conflict',
      description: { cause: 'Resource already exists', detail: id },
    });
  });

  it('refuses bad input with 400 and writes nothing', async () => {
    const before = await recordsOnTopic();
    const refusal = async (response: Response) => ({
      status: response.status,
      description: ((await response.json()) as { description: unknown }).description,
    });
    expect(await refusal(await lines('telegraf', 'it,host=a f=1\nit,host=a f=oops'))).toEqual({
      status: 400,
      description: {
        cause: 'Value error',
        detail: 'line',
        reason:
          'Unable to parse line 2: expected a field value (number, "string" or boolean) at column 13 (\'o\')',
      },
    });
    expect(await refusal(await lines('telegraf', 'it,rack=r1 f=1'))).toEqual({
      status: 400,
      description: { cause: 'Value error', detail: 'key', reason: "Unable to find key `host' in tags" },
    });
    expect((await lines('telegraf', 'it,host=a f=1', {}, '&precision=fortnight')).status).toBe(400);
    expect((await lines('telegraf', 'it,host=a\0 f=1')).status).toBe(400);
    expect((await lines('telegraf', `it,host=${'x'.repeat(300)} f=1`)).status).toBe(400);
    expect((await lines('telegraf', `it,host=a ${'f'.repeat(300)}=1`)).status).toBe(400);
    expect((await recordsOnTopic()) - before).toBe(0);
    // An unknown database: its resource type does not exist.
    expect((await lines('nosuchdb', 'it,host=a f=1')).status).toBe(404);
  });
});

describe('Prometheus remote write', () => {
  const series = (name: string, instance: string, samples: { value: number; timestampMs: number }[]) => ({
    labels: [
      ['__name__', name],
      ['job', 'node'],
      ['instance', instance],
      ['mode', 'idle'],
    ] as [string, string][],
    samples,
  });

  it('needs admin or service for the first write, which creates the prometheus resource type', async () => {
    const body = snappyLiteral(
      writeRequest([series('it.up', 'h1:9100', [{ value: 1, timestampMs: 1714564800000 }])]),
    );
    expect((await remoteWrite(member, body)).status).toBe(403);
    expect((await remoteWrite(admin, body)).status).toBe(202);
    expect((await get('/v1/resource_type/prometheus')).body).toEqual({
      name: 'prometheus',
      state: 'active',
      attributes: {
        instance: { type: 'string', required: true, min_length: 1, max_length: 512 },
        job: { type: 'string', required: true, min_length: 1, max_length: 512 },
      },
    });
    // Then anyone may write: each caller's resources are its own.
    expect((await remoteWrite(member, body)).status).toBe(202);
    const resources = (await get('/v1/resource/prometheus')).body as { creator: string; job: string }[];
    expect(resources.map((r) => [r.creator, r.job]).sort()).toEqual([
      ['admin', 'node'],
      ['foobar', 'node'],
    ]);
  });

  it('writes series as metrics of job@instance, skipping NaN staleness markers, readable back', async () => {
    const before = await recordsOnTopic();
    const body = writeRequest([
      series('it.cpu_seconds', 'h2:9100', [
        { value: 10, timestampMs: 1714564800000 },
        { value: Number.NaN, timestampMs: 1714564801000 },
        { value: 12.5, timestampMs: 1714564802000 },
      ]),
      series('it.load1', 'h2:9100', [{ value: 0.7, timestampMs: 1714564800500 }]),
      series('it.empty', 'h2:9100', []),
      { labels: [['__name__', '__proto__']], samples: [{ value: 5, timestampMs: 1714564800000 }] },
    ]);
    expect((await remoteWrite(admin, snappyLiteral(body))).status).toBe(202);
    expect((await recordsOnTopic()) - before).toBe(3);
    const resource = (await get(`/v1/resource/prometheus/${encodeURIComponent('node@h2:9100')}`)).body as {
      job: string;
      instance: string;
      metrics: object;
    };
    expect(resource).toMatchObject({
      job: 'node',
      instance: 'h2:9100',
      original_resource_id: 'node@h2:9100',
    });
    expect(Object.keys(resource.metrics).sort()).toEqual(['it.cpu_seconds', 'it.load1']);
    expect(
      (
        await get(
          `/v1/resource/prometheus/${encodeURIComponent('node@h2:9100')}/metric/it.cpu_seconds/measures?refresh=true&granularity=1`,
        )
      ).body,
    ).toEqual([
      ['2024-05-01T12:00:00+00:00', 1, 10],
      ['2024-05-01T12:00:02+00:00', 1, 12.5],
    ]);
    // No job or instance label: the resource "none@none", its metric named __proto__.
    const none = (await get(`/v1/resource/prometheus/${encodeURIComponent('none@none')}`)).body as {
      metrics: object;
    };
    expect(Object.keys(none.metrics)).toEqual(['__proto__']);
  });

  it('refuses malformed snappy, protobuf and series with 400, an oversized declared length with 413', async () => {
    const before = await recordsOnTopic();
    const status = async (body: Uint8Array) => (await remoteWrite(admin, body)).status;
    expect(await status(Uint8Array.from([5, 0x08, 0x61]))).toBe(400);
    expect(await status(snappyLiteral(Uint8Array.from([0x0a, 0x80])))).toBe(400);
    expect(await status(snappyLiteral(writeRequest([{ labels: [['job', 'x']], samples: [] }])))).toBe(400);
    expect(
      await status(snappyLiteral(writeRequest([series('it.past', 'h3', [{ value: 1, timestampMs: -5 }])]))),
    ).toBe(400);
    expect(await status(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]))).toBe(413);
    const invalid = await remoteWrite(admin, Uint8Array.from([5, 0x08, 0x61]));
    expect(((await invalid.json()) as { description: { reason: string } }).description.reason).toBe(
      'Unable to decompress the body: truncated snappy literal',
    );
    expect((await recordsOnTopic()) - before).toBe(0);
  });
});
