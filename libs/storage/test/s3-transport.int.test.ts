import { lookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { type TlsS3Proxy, startTlsS3Proxy } from '@granary/testing/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore, type S3StoreOptions, createObjectStore } from '../index.ts';
import { describeObjectStoreContract } from './object-store-contract.ts';

/**
 * The S3 driver over the transports the shared S3Proxy does not offer: https with a private CA, and
 * virtual-hosted addressing (`<bucket>.localhost`), on a second S3Proxy started here.
 */
let proxy: TlsS3Proxy;
beforeAll(async () => {
  proxy = await startTlsS3Proxy();
});
afterAll(async () => {
  await proxy?.stop();
});

/** `<bucket>.localhost` is not in every resolver (glibc's `files dns` lacks it): send it home. */
const toLoopback: LookupFunction = (_hostname, options, callback) => lookup('127.0.0.1', options, callback);

const base = {
  region: 'us-east-1',
  accessKeyId: 'granary',
  secretAccessKey: 'granary',
};

async function emptied<Store extends S3ObjectStore>(store: Store): Promise<Store> {
  await store.ensureBucket();
  await store.delete(await store.list(''));
  return store;
}

// S3Proxy's conditional writes are not atomic (see s3-store.int.test.ts).
describeObjectStoreContract('S3 over https with a private CA, path-style', {
  // Built from configuration, as the apps build it: the CA file comes from `storage.s3.caFile`.
  open: async () =>
    emptied(
      (await createObjectStore({
        driver: 's3',
        file: { basePath: 'unused' },
        s3: {
          ...base,
          endpoint: proxy.httpsEndpoint,
          bucket: 'granary-https-path',
          forcePathStyle: true,
          caFile: proxy.caFile,
        },
      })) as S3ObjectStore,
    ),
  atomicConditionalWrites: async () => false,
});

describeObjectStoreContract('S3 over http, virtual-hosted', {
  open: () =>
    emptied(
      new S3ObjectStore({
        ...base,
        endpoint: proxy.httpEndpoint,
        bucket: 'granary-virtual-hosted',
        forcePathStyle: false,
        lookup: toLoopback,
      }),
    ),
  atomicConditionalWrites: async () => false,
});

describe('S3 transports', () => {
  it('addresses the bucket by host name when virtual-hosted, on both request paths', async () => {
    const resolved = new Set<string>();
    const virtualHosted = await emptied(
      new S3ObjectStore({
        ...base,
        endpoint: proxy.httpEndpoint,
        bucket: 'granary-by-host',
        forcePathStyle: false,
        lookup: (hostname, options, callback) => {
          resolved.add(hostname);
          toLoopback(hostname, options, callback);
        },
      }),
    );
    await virtualHosted.put('a/key', new Uint8Array([1])); // our request path
    expect(await virtualHosted.list('')).toEqual(['a/key']); // the SDK's
    await virtualHosted.close();
    expect([...resolved]).toEqual(['granary-by-host.localhost']);
    // The same object reached path-style: the server put it in the bucket the Host header named.
    const pathStyle = new S3ObjectStore({
      ...base,
      endpoint: proxy.httpEndpoint,
      bucket: 'granary-by-host',
      forcePathStyle: true,
    });
    expect(await pathStyle.get('a/key')).toEqual(new Uint8Array([1]));
    await pathStyle.close();
  });

  const untrusted: [string, Partial<S3StoreOptions>][] = [
    ['a CA that did not issue the certificate', { caFile: 'wrong' }],
    ["the system's CAs", {}],
  ];
  for (const [trusting, options] of untrusted) {
    it(`refuses the server's certificate when trusting ${trusting}: STORAGE_TLS_UNTRUSTED at once, on both request paths`, async () => {
      const store = new S3ObjectStore({
        ...base,
        endpoint: proxy.httpsEndpoint,
        bucket: 'granary-untrusted',
        forcePathStyle: true,
        ...options,
        caFile: options.caFile ? proxy.wrongCaFile : undefined,
      });
      const started = Date.now();
      // Our request path (object reads) and the SDK's (listing) share the connection pool.
      await expect(store.get('k')).rejects.toMatchObject({ code: 'STORAGE_TLS_UNTRUSTED', retriable: false });
      await expect(store.list('')).rejects.toMatchObject({ code: 'STORAGE_TLS_UNTRUSTED', retriable: false });
      // Not retried with backoff as a network failure would be (3 attempts of up to 0.2 s, 0.4 s).
      expect(Date.now() - started).toBeLessThan(2_000);
      await store.close();
    });
  }

  it('names an unreadable CA file when the store is built', async () => {
    await expect(
      createObjectStore({
        driver: 's3',
        file: { basePath: 'unused' },
        s3: {
          ...base,
          endpoint: proxy.httpsEndpoint,
          bucket: 'granary-no-ca',
          forcePathStyle: true,
          caFile: '/nonexistent/granary-ca.pem',
        },
      }),
    ).rejects.toMatchObject({
      code: 'STORAGE_CA_FILE_UNREADABLE',
      message: expect.stringContaining('/nonexistent/granary-ca.pem'),
    });
  });
});
