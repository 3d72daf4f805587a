import { randomUUID } from 'node:crypto';
import { DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { infra } from '@granary/testing/infra';
import { MINIO_CREDENTIALS, startMinio } from '@granary/testing/services';
import { S3_CREDENTIALS } from '@granary/testing/settings';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  S3ObjectStore,
  type S3StoreOptions,
  createObjectStore,
  deleteMetric,
  listSplitKeys,
} from '../index.ts';
import { describeObjectStoreContract } from './object-store-contract.ts';

/** A real S3 server the driver is tested against, and what it promises. */
interface S3Server {
  name: string;
  /** Starts it if need be; resolves with its endpoint and how to stop what was started. */
  start(): Promise<{ endpoint: string; stop(): Promise<void> }>;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /**
   * Whether racing conditional PUTs have exactly one winner. Not S3Proxy in any version: 2.6
   * ignores conditional headers (the driver emulates), and 3.0 honours them but checks and writes
   * non-atomically (2 of 8 racing writers won when tried). MinIO decides them under its object lock.
   */
  atomicConditionalWrites: boolean;
}

const SERVERS: S3Server[] = [
  {
    name: 'S3Proxy',
    start: async () => ({ endpoint: infra().s3Endpoint, stop: async () => {} }),
    credentials: S3_CREDENTIALS,
    atomicConditionalWrites: false,
  },
  { name: 'MinIO', start: startMinio, credentials: MINIO_CREDENTIALS, atomicConditionalWrites: true },
];

for (const server of SERVERS) {
  describe(`S3 driver on ${server.name}`, () => {
    const bucket = `granary-storage-test-${randomUUID().slice(0, 8)}`;
    const createdBucket = `granary-storage-create-${randomUUID().slice(0, 8)}`;
    let stopServer: () => Promise<void> = async () => {};
    let connection: S3StoreOptions;

    beforeAll(async () => {
      const started = await server.start();
      stopServer = started.stop;
      connection = {
        endpoint: started.endpoint,
        region: 'us-east-1',
        bucket,
        ...server.credentials,
        forcePathStyle: true,
        // Small pages so that listings in these tests cross page boundaries.
        listPageSize: 10,
      };
    });

    /** One bucket for this server, emptied before each test so every test starts from nothing. */
    async function openEmptyStore(): Promise<S3ObjectStore> {
      const store = new S3ObjectStore(connection);
      await store.ensureBucket();
      await store.delete(await store.list(''));
      return store;
    }

    /** Leave the server as we found it: empty and drop both buckets (then stop it if we started it). */
    afterAll(async () => {
      if (connection) {
        const client = new S3Client({ ...connection, credentials: connection });
        for (const name of [bucket, createdBucket]) {
          const store = new S3ObjectStore({ ...connection, bucket: name });
          await store.ensureBucket();
          await store.delete(await store.list(''));
          await store.close();
          await client.send(new DeleteBucketCommand({ Bucket: name }));
        }
        client.destroy();
      }
      await stopServer();
    });

    describeObjectStoreContract(`S3 driver on ${server.name}`, {
      open: openEmptyStore,
      atomicConditionalWrites: async () => server.atomicConditionalWrites,
    });

    it('is what createObjectStore picks for driver "s3", creating the bucket on request', async () => {
      const store = await createObjectStore(
        { driver: 's3', file: { basePath: 'unused' }, s3: { ...connection, bucket: createdBucket } },
        { createBucket: true },
      );
      await store.put('k', new Uint8Array([7]));
      expect(await store.get('k')).toEqual(new Uint8Array([7]));
      expect(store.driver).toBe('s3');
      await store.close();
    });

    it('uses the server’s own conditional PUT (both servers refuse a stale If-Match and If-None-Match: *)', async () => {
      const store = await openEmptyStore();
      expect((await store.putIfMatch('probe', new Uint8Array([1]), null)).written).toBe(true);
      expect(await store.conditionalWriteMechanism()).toBe('native');
      await store.close();
    });

    it('signs every object request as the server checks it: keys that need encoding, conditions, a wrong secret refused', async () => {
      const store = await openEmptyStore();
      const key = '5b7ebe90-4ad2-4c83-ad2c-f6a8c4e4e2a1/rate:mean_1.0_1425600000.0_v3+a=b@c,d';
      await store.put(key, new Uint8Array([1, 2, 3]));
      expect(await store.get(key)).toEqual(new Uint8Array([1, 2, 3]));
      const { version } = (await store.getWithVersion(key))!;
      expect((await store.putIfMatch(key, new Uint8Array([4]), version)).written).toBe(true);
      expect(await store.get('absent')).toBeUndefined();
      await store.close();

      const forged = new S3ObjectStore({ ...connection, secretAccessKey: 'not-the-secret' });
      await expect(forged.get(key)).rejects.toMatchObject({ code: expect.stringMatching(/^STORAGE_/) });
      await expect(forged.put('other', new Uint8Array([1]))).rejects.toMatchObject({
        code: expect.stringMatching(/^STORAGE_/),
      });
      await forged.close();
    });

    it('deletes more objects than one DeleteObjects request takes', async () => {
      const store = await openEmptyStore();
      const metricId = randomUUID();
      const keys = Array.from({ length: 1001 }, (_, i) => `${metricId}/mean_1.0_${i}.0_v3`);
      for (let start = 0; start < keys.length; start += 50) {
        await Promise.all(keys.slice(start, start + 50).map((key) => store.put(key, new Uint8Array([1]))));
      }
      expect(await listSplitKeys(store, metricId, 'mean', 1_000_000)).toHaveLength(1001);
      await deleteMetric(store, metricId);
      expect(await store.list(`${metricId}/`)).toEqual([]);
      await store.close();
    });
  });
}
