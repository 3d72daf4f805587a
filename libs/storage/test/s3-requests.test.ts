import { lookup } from 'node:dns';
import { Agent, type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Requests, S3ResponseError, s3Signer } from '../src/s3-requests.ts';

describe('SigV4 signing', () => {
  it('gives the signature of the AWS documentation example (GET Object with a Range header)', async () => {
    const emptySha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    const signer = s3Signer({
      region: 'us-east-1',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    });
    const signed = await signer.sign(
      {
        method: 'GET',
        protocol: 'https:',
        hostname: 'examplebucket.s3.amazonaws.com',
        path: '/test.txt',
        query: {},
        headers: {
          host: 'examplebucket.s3.amazonaws.com',
          range: 'bytes=0-9',
          'x-amz-content-sha256': emptySha256,
        },
      },
      { signingDate: new Date('2013-05-24T00:00:00Z') },
    );
    expect(signed.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });

  it('signs an already URI-encoded key as sent, not encoded a second time', async () => {
    const credentials = { accessKeyId: 'id', secretAccessKey: 'secret' };
    const authorization = async (signer: SignatureV4, path: string) =>
      (
        await signer.sign(
          { method: 'GET', protocol: 'http:', hostname: 'h', path, query: {}, headers: { host: 'h' } },
          { signingDate: new Date('2026-01-01T00:00:00Z') },
        )
      ).headers.authorization;
    // A signer that encodes the path itself, given the raw key, signs the canonical path `…%3A…`;
    // ours is given that path already encoded and must sign it unchanged (not `…%253A…`).
    const encodingSigner = new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      credentials,
      sha256: Hash.bind(null, 'sha256'),
    });
    expect(
      await authorization(s3Signer({ region: 'us-east-1', ...credentials }), '/bucket/rate%3Amean'),
    ).toBe(await authorization(encodingSigner, '/bucket/rate:mean'));
  });
});

/** Answers each request with the next scripted status (then 200; 503 says SlowDown), and records what it was sent. */
let server: Server;
let endpoint: string;
let script: number[] = [];
const received: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      const status = script.shift() ?? 200;
      response.writeHead(status, { etag: '"v1"' });
      const code = status === 503 ? 'SlowDown' : 'Refused';
      response.end(status === 200 ? 'stored' : `<Error><Code>${code}</Code><Message>m</Message></Error>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const agent = new Agent({ keepAlive: true });
afterAll(() => agent.destroy());

function requestsTo(maxAttempts: number): S3Requests {
  return new S3Requests({
    endpoint,
    region: 'us-east-1',
    bucket: 'bucket',
    accessKeyId: 'id',
    secretAccessKey: 'secret',
    forcePathStyle: true,
    maxAttempts,
    agent,
  });
}

describe('S3Requests', () => {
  it('sends the key URI-encoded under the bucket, signed with the conditional headers, and returns the ETag', async () => {
    received.length = 0;
    const requests = requestsTo(1);
    const answer = await requests.send('PUT', 'metric/rate:mean_60.0_0.0_v3', {
      body: new Uint8Array([1, 2]),
      headers: { 'if-none-match': '*' },
    });
    expect(answer.etag).toBe('"v1"');
    const [request] = received;
    expect(request?.url).toBe('/bucket/metric/rate%3Amean_60.0_0.0_v3');
    expect(request?.headers['if-none-match']).toBe('*');
    expect(request?.headers.authorization).toMatch(
      /SignedHeaders=content-length;host;if-none-match;x-amz-content-sha256;x-amz-date,/,
    );
    expect([...(request?.body ?? [])]).toEqual([1, 2]);
  });

  it('addresses a virtual-hosted bucket by host name, the key alone in the path', async () => {
    received.length = 0;
    const requests = new S3Requests({
      endpoint: endpoint.replace('127.0.0.1', 'localhost'),
      region: 'us-east-1',
      bucket: 'bucket',
      accessKeyId: 'id',
      secretAccessKey: 'secret',
      forcePathStyle: false,
      maxAttempts: 1,
      // `bucket.localhost` is not in every resolver: send it to the local server.
      agent: new Agent({ lookup: (_host, options, callback) => lookup('127.0.0.1', options, callback) }),
    });
    await requests.send('GET', 'metric/k');
    const [request] = received;
    expect(request?.headers.host).toBe(`bucket.${new URL(endpoint).host.replace('127.0.0.1', 'localhost')}`);
    expect(request?.url).toBe('/metric/k');
    expect(request?.headers.authorization).toMatch(/SignedHeaders=host;x-amz-content-sha256;x-amz-date,/);
  });

  it('retries a throttled request with backoff and returns the answer that succeeded', async () => {
    received.length = 0;
    script = [503];
    const requests = requestsTo(2);
    const answer = await requests.send('GET', 'k');
    expect(received).toHaveLength(2);
    expect(Buffer.from(answer.body).toString()).toBe('stored');
  });

  it('throws the S3 error code of the last attempt once attempts are spent', async () => {
    script = [503, 503];
    const requests = requestsTo(2);
    const error = await requests.send('GET', 'k').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(S3ResponseError);
    expect(error).toMatchObject({ status: 503, name: 'SlowDown' });
  });

  it('does not retry what no retry fixes: 501 and client errors', async () => {
    for (const status of [501, 400, 403]) {
      received.length = 0;
      script = [status];
      const error = await requestsTo(3)
        .send('GET', 'k')
        .catch((err: unknown) => err);
      expect(error, String(status)).toMatchObject({ status });
      expect(received, String(status)).toHaveLength(1);
    }
  });

  it('returns accepted statuses as answers, without retrying them', async () => {
    received.length = 0;
    script = [412];
    const requests = requestsTo(3);
    const answer = await requests.send('PUT', 'k', { body: new Uint8Array([1]), accept: [412] });
    expect(answer.status).toBe(412);
    expect(received).toHaveLength(1);
  });
});
