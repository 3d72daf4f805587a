import { createHash, randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { LookupFunction } from 'node:net';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { storageErrors } from './errors.ts';
import { assertValidKey, assertValidPrefix } from './keys.ts';
import {
  type ConditionalPutResult,
  type ObjectStore,
  type ObjectVersion,
  type StoredObject,
  type VersionedObject,
  lastOfEachKey,
} from './object-store.ts';
import {
  S3Requests,
  S3ResponseError,
  createS3Agent,
  isRetriableS3Failure,
  isUntrustedCertificate,
} from './s3-requests.ts';

/**
 * How `putIfMatch` reaches the server. `native` sends `If-Match` / `If-None-Match: *` (AWS S3,
 * MinIO, Ceph RGW, S3Proxy 3.x). `emulated` checks, writes and re-checks the ETag, for servers
 * without conditional PUT; it narrows but cannot close the race (docs/adr/0005-manifest-fencing.md).
 * `auto` probes the server once: some answer 501, and some (S3Proxy 2.6) silently ignore the headers
 * and overwrite, which only a probe can tell.
 */
export type ConditionalWriteMode = 'auto' | 'native' | 'emulated';

export interface S3StoreOptions {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style (`endpoint/bucket/key`) or virtual-hosted (`bucket.endpoint/key`) addressing. */
  forcePathStyle: boolean;
  /** A PEM CA bundle that alone is trusted for an https endpoint (a private CA); unset: the system's. */
  caFile?: string;
  /** Resolves host names for the connections (default: the system resolver). */
  lookup?: LookupFunction;
  conditionalWrites?: ConditionalWriteMode;
  /** Attempts per request inside the SDK (its standard retry strategy) before an error surfaces. */
  maxAttempts?: number;
  /** Keys per ListObjectsV2 page; the server's default (1000) unless set. */
  listPageSize?: number;
}

/** S3 caps DeleteObjects at 1000 keys per request. */
const DELETE_BATCH = 1000;

function statusOf(err: unknown): number | undefined {
  if (err instanceof S3ResponseError) return err.status;
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function nameOf(err: unknown): string {
  return (err as { name?: string }).name ?? '';
}

/** Throttling, 5xx (but 501: the server will never implement it on retry) and network → retriable. */
function mapS3Error(err: unknown, action: string): Error {
  if (storageErrors.is(err)) return err;
  if (isUntrustedCertificate(err)) {
    return storageErrors('STORAGE_TLS_UNTRUSTED', `${action}: ${(err as Error).message}`, { cause: err });
  }
  const status = statusOf(err);
  const retriable =
    (err as { $retryable?: unknown }).$retryable !== undefined ||
    isRetriableS3Failure(status, nameOf(err), err);
  const detail = `${action}: ${nameOf(err)} ${(err as Error).message}`;
  return storageErrors(retriable ? 'STORAGE_UNAVAILABLE' : 'STORAGE_FAILED', detail, {
    cause: err,
    details: { httpStatus: status },
  });
}

function isMissing(err: unknown): boolean {
  return statusOf(err) === 404 || nameOf(err) === 'NoSuchKey' || nameOf(err) === 'NotFound';
}

const CHECKSUM_HEADERS = new Set(['x-amz-checksum-crc32', 'x-amz-sdk-checksum-algorithm']);

/**
 * DeleteObjects must carry an integrity header; the SDK sends `x-amz-checksum-crc32`, which S3Proxy
 * and older compatible servers answer with 501, while every S3 server accepts the classic
 * `Content-MD5`. Swap one for the other on requests that carry it.
 */
function useContentMd5InsteadOfChecksum(request: { headers?: Record<string, string>; body?: unknown }): void {
  const headers = request.headers;
  if (headers?.['x-amz-checksum-crc32'] === undefined || typeof request.body !== 'string') return;
  request.headers = {
    ...Object.fromEntries(Object.entries(headers).filter(([name]) => !CHECKSUM_HEADERS.has(name))),
    'content-md5': createHash('md5').update(request.body).digest('base64'),
  };
}

/**
 * Any S3-compatible server; one bucket holds every key. Object reads and writes, the hot path, go
 * through S3Requests; bucket operations, listing and batch deletes through `@aws-sdk/client-s3`.
 */
export class S3ObjectStore implements ObjectStore {
  readonly driver = 's3';
  private readonly client: S3Client;
  private readonly agent: http.Agent;
  private readonly requests: S3Requests;
  private readonly bucket: string;
  private readonly listPageSize: number | undefined;
  private mode: ConditionalWriteMode;
  private probe: Promise<'native' | 'emulated'> | undefined;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.listPageSize = options.listPageSize;
    this.mode = options.conditionalWrites ?? 'auto';
    this.agent = createS3Agent(options);
    this.requests = new S3Requests({ ...options, agent: this.agent, maxAttempts: options.maxAttempts ?? 3 });
    this.client = new S3Client({
      endpoint: options.endpoint,
      requestHandler: { httpAgent: this.agent, httpsAgent: this.agent },
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      maxAttempts: options.maxAttempts ?? 3,
      // The SDK's default extra checksums are AWS-only features many compatible servers reject.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.client.middlewareStack.add(
      (next) => async (args) => {
        useContentMd5InsteadOfChecksum(args.request as { headers?: Record<string, string>; body?: unknown });
        return next(args);
      },
      {
        step: 'build',
        priority: 'low', // after the SDK's checksum middleware, before signing
        name: 'granaryContentMd5InsteadOfChecksum',
      },
    );
  }

  async conditionalWriteMechanism(): Promise<'native' | 'emulated'> {
    try {
      return await this.settledMode();
    } catch (err) {
      throw mapS3Error(err, 'probe conditional writes');
    }
  }

  /** Create the bucket unless it exists (HeadBucket first: creating may need rights we lack). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (!isMissing(err)) throw mapS3Error(err, `head bucket ${this.bucket}`);
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (nameOf(err) !== 'BucketAlreadyOwnedByYou') throw mapS3Error(err, `create bucket ${this.bucket}`);
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    assertValidKey(key);
    try {
      await this.requests.send('PUT', key, { body: bytes });
    } catch (err) {
      throw mapS3Error(err, `put ${key}`);
    }
  }

  /** S3 has no batch PUT: the objects go in parallel, as many at once as the agent's sockets allow. */
  async putMany(objects: readonly StoredObject[]): Promise<void> {
    const outcomes = await Promise.allSettled(
      lastOfEachKey(objects).map(({ key, bytes }) => this.put(key, bytes)),
    );
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.getWithVersion(key))?.bytes;
  }

  async getWithVersion(key: string): Promise<VersionedObject | undefined> {
    assertValidKey(key);
    try {
      const answer = await this.requests.send('GET', key, { accept: [404] });
      return answer.status === 404 ? undefined : { bytes: answer.body, version: answer.etag ?? '' };
    } catch (err) {
      throw mapS3Error(err, `get ${key}`);
    }
  }

  async putIfMatch(
    key: string,
    bytes: Uint8Array,
    expectedVersion: ObjectVersion | null,
  ): Promise<ConditionalPutResult> {
    assertValidKey(key);
    try {
      return (await this.settledMode()) === 'native'
        ? await this.putIfMatchNative(key, bytes, expectedVersion)
        : await this.putIfMatchEmulated(key, bytes, expectedVersion);
    } catch (err) {
      throw mapS3Error(err, `conditional put ${key}`);
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const keys: string[] = [];
    let continuationToken: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ContinuationToken: continuationToken,
          }),
        );
        for (const object of page.Contents ?? []) {
          // Servers over a filesystem (S3Proxy) list directories as `a/` pseudo-objects; no key of ours
          // ends in `/`.
          if (object.Key && !object.Key.endsWith('/')) keys.push(object.Key);
        }
        continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (continuationToken);
    } catch (err) {
      throw mapS3Error(err, `list ${prefix}`);
    }
    return keys.sort();
  }

  async delete(keys: readonly string[]): Promise<void> {
    keys.forEach(assertValidKey);
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      let failures: { Key?: string; Code?: string; Message?: string }[];
      try {
        const response = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        failures = (response.Errors ?? []).filter((failure) => failure.Code !== 'NoSuchKey');
      } catch (err) {
        throw mapS3Error(err, 'delete');
      }
      if (failures.length > 0) {
        const [first] = failures;
        throw storageErrors('STORAGE_FAILED', `delete ${first?.Key}: ${first?.Code} ${first?.Message}`, {
          details: { failedKeys: failures.map((failure) => failure.Key) },
        });
      }
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.agent.destroy();
  }

  private async putIfMatchNative(
    key: string,
    bytes: Uint8Array,
    expectedVersion: ObjectVersion | null,
  ): Promise<ConditionalPutResult> {
    // 412: the precondition failed; 409: a concurrent conditional write won; 404: If-Match on a
    // missing object. All three mean another writer got there first.
    const answer = await this.requests.send('PUT', key, {
      body: bytes,
      headers: expectedVersion === null ? { 'if-none-match': '*' } : { 'if-match': expectedVersion },
      accept: expectedVersion === null ? [412, 409] : [412, 409, 404],
    });
    if (answer.status >= 200 && answer.status < 300) return { written: true, version: answer.etag ?? '' };
    return { written: false, currentVersion: await this.headVersion(key) };
  }

  private async settledMode(): Promise<'native' | 'emulated'> {
    if (this.mode === 'auto') {
      this.probe ??= this.probeConditionalWrites();
      try {
        this.mode = await this.probe;
      } catch (err) {
        this.probe = undefined; // an unreachable server must not decide the mode for good
        throw err;
      }
    }
    return this.mode;
  }

  /** Does the server honour conditional PUT? Both conditions must refuse, or we must emulate. */
  private async probeConditionalWrites(): Promise<'native' | 'emulated'> {
    const key = `_storage/conditional-write-probe/${randomUUID()}`;
    const body = new TextEncoder().encode(key);
    const attempt = async (condition: Record<string, string>) => {
      const answer = await this.requests.send('PUT', key, { body, headers: condition, accept: [412, 501] });
      if (answer.status === 412) return 'refused';
      if (answer.status === 501) return 'unsupported';
      return 'written';
    };
    try {
      if ((await attempt({ 'if-none-match': '*' })) !== 'written') return 'emulated';
      const createOverExisting = await attempt({ 'if-none-match': '*' });
      const replaceAtStaleVersion = await attempt({ 'if-match': '"granary-probe-stale-etag"' });
      return createOverExisting === 'refused' && replaceAtStaleVersion === 'refused' ? 'native' : 'emulated';
    } finally {
      await this.delete([key]).catch(() => undefined);
    }
  }

  private async putIfMatchEmulated(
    key: string,
    bytes: Uint8Array,
    expectedVersion: ObjectVersion | null,
  ): Promise<ConditionalPutResult> {
    const before = await this.headVersion(key);
    if (before !== expectedVersion) return { written: false, currentVersion: before };
    const version = (await this.requests.send('PUT', key, { body: bytes })).etag ?? '';
    // Re-read: a writer that overwrote us in the window is detected here, by us or by it.
    const after = await this.headVersion(key);
    return after === version ? { written: true, version } : { written: false, currentVersion: after };
  }

  private async headVersion(key: string): Promise<ObjectVersion | null> {
    const answer = await this.requests.send('HEAD', key, { accept: [404] });
    return answer.status === 404 ? null : (answer.etag ?? '');
  }
}
