import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Registry, createRegistry, prometheusInstruments } from '@granary/observability';
import { metricValue } from '@granary/testing/metrics';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileObjectStore, S3ObjectStore, StorageInstruments, measuredObjectStore } from '../index.ts';
import { describeObjectStoreContract } from './object-store-contract.ts';

const root = mkdtempSync(join(tmpdir(), 'granary-measured-'));
let stores = 0;
const fileStore = () => new FileObjectStore({ basePath: join(root, `store-${++stores}`) });
afterAll(() => rm(root, { recursive: true, force: true }));

describeObjectStoreContract('measured file driver', {
  open: async () => measuredObjectStore(fileStore(), new StorageInstruments()),
  atomicConditionalWrites: async () => true,
});

let registry: Registry;
let instruments: StorageInstruments;
beforeEach(() => {
  registry = createRegistry('test');
  instruments = new StorageInstruments(prometheusInstruments(registry));
});

const operations = (labels: Record<string, string>) =>
  metricValue(registry, 'granary_storage_operations_total', labels);

describe('measured object store', () => {
  it('counts and times each operation by driver, operation and outcome, and the bytes moved', async () => {
    const store = measuredObjectStore(fileStore(), instruments);
    await store.put('m/a', new Uint8Array(10));
    await store.putMany([
      { key: 'm/b', bytes: new Uint8Array(3) },
      { key: 'm/c', bytes: new Uint8Array(4) },
    ]);
    expect(await store.get('m/a')).toHaveLength(10);
    expect(await store.get('m/missing')).toBeUndefined();
    expect(await store.list('m/')).toEqual(['m/a', 'm/b', 'm/c']);

    const file = { driver: 'file', outcome: 'ok' };
    expect(await operations({ ...file, operation: 'put' })).toBe(1);
    expect(await operations({ ...file, operation: 'putMany' })).toBe(1);
    expect(await operations({ ...file, operation: 'get' })).toBe(2);
    expect(await operations({ ...file, operation: 'list' })).toBe(1);
    expect(await metricValue(registry, 'granary_storage_written_bytes_total', { driver: 'file' })).toBe(17);
    expect(await metricValue(registry, 'granary_storage_read_bytes_total', { driver: 'file' })).toBe(10);
    const timedGets = await metricValue(registry, 'granary_storage_operation_duration_seconds', {
      ...file,
      operation: 'get',
      le: '+Inf',
    });
    expect(timedGets).toBe(2);
  });

  it('labels a failure with the storage error code, and a lost conditional write as a conflict', async () => {
    const store = measuredObjectStore(fileStore(), instruments);
    await expect(store.put('../escape', new Uint8Array(1))).rejects.toMatchObject({
      code: 'STORAGE_INVALID_KEY',
    });
    const first = await store.putIfMatch('p/manifest', new Uint8Array(2), null);
    expect(first.written).toBe(true);
    expect((await store.putIfMatch('p/manifest', new Uint8Array(2), null)).written).toBe(false);

    expect(await operations({ operation: 'put', outcome: 'STORAGE_INVALID_KEY' })).toBe(1);
    expect(await operations({ operation: 'put', outcome: 'ok' })).toBe(0);
    expect(await operations({ operation: 'putIfMatch', outcome: 'ok' })).toBe(1);
    expect(await operations({ operation: 'putIfMatch', outcome: 'STORAGE_CONFLICT' })).toBe(1);
    // Only the write that happened moved bytes.
    expect(await metricValue(registry, 'granary_storage_written_bytes_total')).toBe(2);
  });
});

/** An S3 server that answers each request with the next scripted status, then 200. */
let server: Server;
let endpoint: string;
let script: number[] = [];
beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(script.shift() ?? 200, { etag: '"v1"' });
      response.end('bytes');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const s3Store = () =>
  new S3ObjectStore({
    endpoint,
    region: 'us-east-1',
    bucket: 'b',
    accessKeyId: 'id',
    secretAccessKey: 'secret',
    forcePathStyle: true,
    maxAttempts: 3,
  });

describe('measured S3 store', () => {
  it('counts requests sent again after a retriable failure, once per retry, while a store is open', async () => {
    // Two measured stores on the same instruments: a retry is still counted once.
    const store = measuredObjectStore(s3Store(), instruments);
    const other = measuredObjectStore(s3Store(), instruments);
    script = [500, 500];
    expect(await store.get('k')).toHaveLength(5);
    expect(await metricValue(registry, 'granary_storage_s3_retries_total', { method: 'GET' })).toBe(2);
    expect(await operations({ driver: 's3', operation: 'get', outcome: 'ok' })).toBe(1);

    await store.close();
    await other.close();
    script = [500];
    const unmeasured = s3Store();
    await unmeasured.get('k');
    await unmeasured.close();
    expect(await metricValue(registry, 'granary_storage_s3_retries_total', { method: 'GET' })).toBe(2);
  });

  it('labels a failure that outlasts the retries STORAGE_UNAVAILABLE', async () => {
    const store = measuredObjectStore(s3Store(), instruments);
    script = [500, 500, 500];
    await expect(store.put('k', new Uint8Array(1))).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(await operations({ driver: 's3', operation: 'put', outcome: 'STORAGE_UNAVAILABLE' })).toBe(1);
    expect(await metricValue(registry, 'granary_storage_s3_retries_total', { method: 'PUT' })).toBe(2);
    await store.close();
  });
});
