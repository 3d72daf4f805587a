import { gzipSync } from 'node:zlib';
import { snappyLiteral, writeRequest } from '@granary/testing/wire-encoders';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { resourceWrites } from '../src/routes/influxdb.ts';
import { parseLineProtocol, precisionNanos } from '../src/wire/line-protocol.ts';
import { ADMIN, FOOBAR, testApi } from './helpers.ts';

/*
 * The InfluxDB and Prometheus routes' HTTP behaviour before any index work: methods, headers, and
 * the refusals of their input (the index side is in apps/api/test/influxdb-prometheus.int.test.ts).
 */

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function inject(
  method: string,
  url: string,
  body?: string | Uint8Array,
  headers: Record<string, string> = {},
) {
  app ??= await testApi({ bodyLimitBytes: 4096 });
  return app.inject({
    method: method as 'POST',
    url,
    headers: { authorization: ADMIN, ...headers },
    ...(body !== undefined ? { payload: Buffer.from(body) } : {}),
  });
}

describe('/v1/influxdb', () => {
  it('pings with 204 and X-Influxdb-Version on GET and HEAD, 405 for other methods, 401 without credentials', async () => {
    for (const method of ['GET', 'HEAD']) {
      const response = await inject(method, '/v1/influxdb/ping');
      expect(response.statusCode).toBe(204);
      expect(response.headers['x-influxdb-version']).toBe('Gnocchi 4.7.1');
    }
    expect((await inject('DELETE', '/v1/influxdb/ping')).statusCode).toBe(405);
    expect((await inject('GET', '/v1/influxdb/write')).statusCode).toBe(405);
    expect((await inject('GET', '/v1/influxdb/query')).statusCode).toBe(405);
    expect((await app!.inject({ method: 'GET', url: '/v1/influxdb/ping' })).statusCode).toBe(401);
  });

  it("answers any query but CREATE DATABASE with Gnocchi's 501, and a missing q with 204", async () => {
    const refused = await inject('POST', '/v1/influxdb/query?q=SHOW+DATABASES');
    expect(refused.statusCode).toBe(501);
    expect(refused.json()).toEqual({
      code: 501,
      title: 'Not Implemented',
      description: { cause: 'Not implemented error', detail: 'q', reason: 'Query not implemented' },
    });
    expect((await inject('POST', '/v1/influxdb/query')).statusCode).toBe(204);
    // Checked after the query is read, as Gnocchi: a member may not create a type.
    const member = await inject('POST', '/v1/influxdb/query?q=create+database+x', undefined, {
      authorization: FOOBAR,
    });
    expect(member.statusCode).toBe(403);
  });

  it('refuses unreadable lines, an unknown precision and oversized bodies before touching the index', async () => {
    const write = (body: string, query = '') =>
      inject('POST', `/v1/influxdb/write?db=nosuchtype${query}`, body, { 'content-type': 'text/plain' });
    const unreadable = await write('m,host=a f=1\n\nm,host=a f=1 1 2');
    expect(unreadable.statusCode).toBe(400);
    expect(unreadable.json().description).toEqual({
      cause: 'Value error',
      detail: 'line',
      reason: "Unable to parse line 3: unexpected character at column 16 ('2')",
    });
    expect((await write('m,host=a f=1', '&precision=d')).json().description.detail).toBe('precision');
    expect((await write('m,rack=a f=1')).json().description.reason).toBe("Unable to find key `host' in tags");
    expect((await write(`m,host=a f=1\n#${'x'.repeat(5000)}`)).statusCode).toBe(413);
  });

  it('gunzips a gzip body (Telegraf sends one), held to the body limit once decompressed', async () => {
    const gzipped = (body: string | Uint8Array) =>
      inject('POST', '/v1/influxdb/write?db=nosuchtype', typeof body === 'string' ? gzipSync(body) : body, {
        'content-type': 'text/plain',
        'content-encoding': 'gzip',
      });
    // Read after decompression: the line is parsed, and refused for its missing tag.
    expect((await gzipped('m,rack=a f=1')).json().description.reason).toBe(
      "Unable to find key `host' in tags",
    );
    // 1 MB of comment compresses far below the limit, and is refused once decompressed.
    const bomb = await gzipped(`#${'x'.repeat(1 << 20)}`);
    expect(bomb.statusCode).toBe(413);
    expect(bomb.json().description).toBe('The gzip body decompresses to more than 4096 bytes');
    const garbage = await gzipped(gzipSync('m,host=a f=1').subarray(0, 12));
    expect(garbage.statusCode).toBe(400);
    expect(garbage.json().description).toEqual({
      cause: 'Value error',
      detail: 'body',
      reason: 'Unable to decompress the gzip body: unexpected end of file',
    });
  });
});

describe('InfluxDB points to resources and metric names', () => {
  /** Observed on Gnocchi 4.7.1 (tools/gnocchi-oracle) for the same bodies: resource → metric names. */
  const GNOCCHI = new Map<string, [string, string[]][]>([
    ['m,host=h1,b=2,a=1,Z=0,é=x,ä=y f=1 1510581804179554816', [['h1', ['m.f@Z=0,a=1,b=2,ä=y,é=x']]]],
    [
      'we\\ ird\\,m,host=h2,t\\=k=v\\ 1,back=sl\\ash f\\ 1=1,s="str" 1510581804179554816',
      [['h2', ['we ird,m.f 1@back=sl\\ash,t=k=v 1']]],
    ],
    ['"quoted m",host=h3,"q t"="a b=c" "f f"=2 1510581804179554816', [['h3', ['quoted m.f f@q t=a b=c']]]],
    ['m,host=h4 a=5i,b=1.5e3,c=7 1510581804179554816', [['h4', ['m.a', 'm.b', 'm.c']]]],
    ['cpu/x,host=h5,path=/var/log f=1 1510581804179554816', [['h5', ['cpu_x.f@path=_var_log']]]],
    ['m,host=h7 f=1 1510581804179554816\r\nm,host=h7 g=2 1510581804179554816\r', [['h7', ['m.f', 'm.g']]]],
    ['m,host=h8,\u{1F600}=1,\uFFFD=2 f=1 1510581804179554816', [['h8', ['m.f@\uFFFD=2,\u{1F600}=1']]]],
    ['m,host=h9,a=1,a=2 f=1,f=3 1510581804179554816', [['h9', ['m.f@a=2']]]],
    ['m,host=h10 s="x"', []],
    ['m,host=h11,x="quo\\"ted" f=1 1510581804179554816', [['h11', ['m.f@x=quo"ted']]]],
    ['m,host=a\\\\b f=1 1510581804179554816', [['a\\\\b', ['m.f']]]],
  ]);

  it.each([...GNOCCHI])('%j', async (body, expected) => {
    const parsed = await parseLineProtocol(Buffer.from(body), precisionNanos(undefined)!);
    if ('error' in parsed) throw new Error(parsed.error);
    const writes = resourceWrites(parsed.points, 'host', 0, 10);
    expect([...writes.values()].map((write) => [write.rawId, [...write.measures.keys()].sort()])).toEqual(
      expected,
    );
  });

  it('keeps every measure of a metric in line order, "now" where a line has none', async () => {
    const parsed = await parseLineProtocol(
      Buffer.from('m,host=a f=1 5000\nm,host=a f=2\nm,host=a f=3 1000'),
      1n,
    );
    if ('error' in parsed) throw new Error(parsed.error);
    const measures = resourceWrites(parsed.points, 'host', 42, 10).get('a')?.measures.get('m.f');
    expect(measures).toEqual({ timestamps: [5, 42, 1], values: [1, 2, 3] });
  });

  it('refuses more resources than the limit', async () => {
    const parsed = await parseLineProtocol(Buffer.from('m,host=a f=1\nm,host=b f=1\nm,host=c f=1'), 1n);
    if ('error' in parsed) throw new Error(parsed.error);
    expect(() => resourceWrites(parsed.points, 'host', 0, 2)).toThrow('More than 2 resources in one write');
  });
});

describe('/v1/prometheus/write', () => {
  const write = (body: Uint8Array) =>
    inject('POST', '/v1/prometheus/write', body, { 'content-type': 'application/x-protobuf' });

  it('refuses a decompressed size over the body limit (413), bad snappy and bad protobuf (400)', async () => {
    const declaredTooLarge = await write(Uint8Array.from([0x80, 0x40, 0x00]));
    expect(declaredTooLarge.statusCode).toBe(413);
    expect(declaredTooLarge.json().description).toBe(
      'snappy data decompresses to 8192 bytes, more than 4096',
    );
    const truncated = await write(Uint8Array.from([4, 0x0c, 0x61]));
    expect(truncated.json()).toMatchObject({
      code: 400,
      description: { reason: 'Unable to decompress the body: truncated snappy literal' },
    });
    const notProtobuf = await write(snappyLiteral(Uint8Array.from([0x0a, 0x05, 0x01])));
    expect(notProtobuf.json().description.reason).toBe(
      'Unable to decode the WriteRequest: truncated protobuf message',
    );
    const nameless = await write(snappyLiteral(writeRequest([{ labels: [['job', 'x']], samples: [] }])));
    expect(nameless.json().description.reason).toBe('A time series has no __name__ label');
  });

  it('answers 202 to a write with no samples, creating nothing', async () => {
    const empty = await write(snappyLiteral(writeRequest([{ labels: [['__name__', 'up']], samples: [] }])));
    expect(empty.statusCode).toBe(202);
    expect((await inject('GET', '/v1/resource_type/prometheus')).statusCode).toBe(404);
  });
});
