import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore, storageErrors } from '../index.ts';

/**
 * A stand-in S3 endpoint that fails every request with the status and S3 error code named by the
 * first key level, so the driver's error mapping can be held to real HTTP answers.
 */
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const [, , failure = ''] = (request.url ?? '').split('/');
    const [status = '500', code = 'InternalError'] = failure.split('-');
    response.writeHead(Number(status), { 'content-type': 'application/xml' });
    response.end(
      request.method === 'HEAD'
        ? undefined
        : `<?xml version="1.0"?><Error><Code>${code}</Code><Message>m</Message></Error>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function storeAt(url: string): S3ObjectStore {
  return new S3ObjectStore({
    endpoint: url,
    region: 'us-east-1',
    bucket: 'bucket',
    accessKeyId: 'x',
    secretAccessKey: 'x',
    forcePathStyle: true,
    maxAttempts: 1,
  });
}

describe('S3 driver error mapping', () => {
  it.each([
    ['503-SlowDown', 'STORAGE_UNAVAILABLE', true],
    ['500-InternalError', 'STORAGE_UNAVAILABLE', true],
    ['429-TooManyRequests', 'STORAGE_UNAVAILABLE', true],
    ['501-NotImplemented', 'STORAGE_FAILED', false],
    ['403-AccessDenied', 'STORAGE_FAILED', false],
  ] as const)('%s → %s', async (failure, code, retriable) => {
    const store = storeAt(endpoint);
    const error = await store.put(`${failure}/k`, new Uint8Array([1])).catch((err: unknown) => err);
    expect(storageErrors.is(error, code)).toBe(true);
    expect((error as { retriable: boolean }).retriable).toBe(retriable);
    await store.close();
  });

  it('reads a 404 as a missing object, not an error', async () => {
    const store = storeAt(endpoint);
    expect(await store.get('404-NoSuchKey/k')).toBeUndefined();
    await store.close();
  });

  it('maps an unreachable server to a retriable error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const store = storeAt(`http://127.0.0.1:${port}`);
    const error = await store.list('any/').catch((err: unknown) => err);
    expect(storageErrors.is(error, 'STORAGE_UNAVAILABLE')).toBe(true);
    await store.close();
  });
});
