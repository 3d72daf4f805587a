import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Requests, S3ResponseError, authorizationHeader } from '../src/s3-requests.ts';

describe('SigV4 signing', () => {
  it('gives the signature of the AWS documentation example (GET Object with a Range header)', () => {
    const emptySha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(
      authorizationHeader({
        method: 'GET',
        path: '/test.txt',
        headers: {
          host: 'examplebucket.s3.amazonaws.com',
          range: 'bytes=0-9',
          'x-amz-content-sha256': emptySha256,
          'x-amz-date': '20130524T000000Z',
        },
        amzDate: '20130524T000000Z',
        payloadSha256: emptySha256,
        region: 'us-east-1',
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      }),
    ).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });
});

/** Answers each request with the next scripted status (then 200), and records what it was sent. */
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
      response.end(status === 200 ? 'stored' : '<Error><Code>SlowDown</Code><Message>m</Message></Error>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function requestsTo(maxAttempts: number): S3Requests {
  return new S3Requests({
    endpoint,
    region: 'us-east-1',
    bucket: 'bucket',
    accessKeyId: 'id',
    secretAccessKey: 'secret',
    forcePathStyle: true,
    maxAttempts,
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
    requests.close();
    expect(answer.etag).toBe('"v1"');
    const [request] = received;
    expect(request?.url).toBe('/bucket/metric/rate%3Amean_60.0_0.0_v3');
    expect(request?.headers['if-none-match']).toBe('*');
    expect(request?.headers.authorization).toMatch(
      /SignedHeaders=content-length;host;if-none-match;x-amz-content-sha256;x-amz-date,/,
    );
    expect([...(request?.body ?? [])]).toEqual([1, 2]);
  });

  it('retries a throttled request with backoff and returns the answer that succeeded', async () => {
    received.length = 0;
    script = [503];
    const requests = requestsTo(2);
    const answer = await requests.send('GET', 'k');
    requests.close();
    expect(received).toHaveLength(2);
    expect(Buffer.from(answer.body).toString()).toBe('stored');
  });

  it('throws the S3 error code of the last attempt once attempts are spent', async () => {
    script = [503, 503];
    const requests = requestsTo(2);
    const error = await requests.send('GET', 'k').catch((err: unknown) => err);
    requests.close();
    expect(error).toBeInstanceOf(S3ResponseError);
    expect(error).toMatchObject({ status: 503, name: 'SlowDown' });
  });

  it('returns accepted statuses as answers, without retrying them', async () => {
    received.length = 0;
    script = [412];
    const requests = requestsTo(3);
    const answer = await requests.send('PUT', 'k', { body: new Uint8Array([1]), accept: [412] });
    requests.close();
    expect(answer.status).toBe(412);
    expect(received).toHaveLength(1);
  });
});
