import { createHash } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { type BackoffOptions, isTransientNetworkError, retryWithBackoff } from '@granary/errors';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { storageErrors } from './errors.ts';
import type { S3StoreOptions } from './s3-store.ts';

/**
 * Object-level S3 requests (GET, HEAD, PUT with optional conditions) signed with SigV4 (by the SDK's
 * signer alone) and sent over a keep-alive agent, without the AWS SDK client. The SDK spends 0.5–0.8 ms of CPU per request in its
 * middleware stack (the stack resolved and sorted, its config object spread several times, the
 * endpoint rules evaluated, XML error bodies parsed into exception classes); a processor reading one
 * raw tail per newly seen metric made that its largest cost. These operations need none of it: one
 * path, fixed headers, the status code and the ETag.
 */

export type S3RequestsOptions = Pick<
  S3StoreOptions,
  'endpoint' | 'region' | 'bucket' | 'accessKeyId' | 'secretAccessKey' | 'forcePathStyle'
> & {
  /** Attempts per request before an error surfaces (the SDK's `maxAttempts`). */
  maxAttempts: number;
  /** The connection pool (createS3Agent), shared with the SDK client. */
  agent: http.Agent;
};

export interface S3Answer {
  readonly status: number;
  readonly body: Uint8Array;
  readonly etag: string | undefined;
}

/** A status the caller did not accept, with the S3 error code of the body (or one named after the status). */
export class S3ResponseError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    // The SDK's exceptions are named after the S3 error code; error mapping reads either by name.
    this.name = code;
  }
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
/** Names the SDK gives bodiless error answers (HEAD), so both paths map the same way. */
const CODE_OF_STATUS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  412: 'PreconditionFailed',
};
const THROTTLING_CODES = new Set(['SlowDown', 'ThrottlingException']);
/** Node's codes for a server certificate that TLS verification refused (node's X509 error codes). */
const UNTRUSTED_CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The server's TLS certificate was refused: a configuration problem (caFile, endpoint) no retry fixes. */
export function isUntrustedCertificate(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && UNTRUSTED_CERTIFICATE_CODES.has(code);
}
const TIMEOUT_CODES = new Set(['TimeoutError', 'RequestTimeout']);

/** Where each retried request is published (an S3Retry), for metrics; no subscriber, no cost. */
export const S3_RETRY_CHANNEL = 'granary:storage:s3-retry';
export interface S3Retry {
  readonly method: 'GET' | 'HEAD' | 'PUT';
}
const retryChannel = channel(S3_RETRY_CHANNEL);

/**
 * The AWS SDK's standard retry strategy: a wait of up to min(20 s, base · 2^attempt) after failed
 * attempt n (full jitter), base 100 ms, or 500 ms when the server throttles; so the first wait is
 * up to 200 ms (1 s).
 */
const SDK_BACKOFF: Omit<BackoffOptions, 'retries'> = {
  initialDelayMs: 200,
  maxDelayMs: 20_000,
  factor: 2,
  jitter: 'full',
  retriable: (err) => isRetriableS3Failure(answerStatus(err), errorName(err), err),
  throttled: {
    is: (err) => THROTTLING_CODES.has(errorName(err)) || answerStatus(err) === 429,
    initialDelayMs: 1_000,
  },
};

function answerStatus(err: unknown): number | undefined {
  return err instanceof S3ResponseError ? err.status : undefined;
}

function errorName(err: unknown): string {
  return (err as { name?: string }).name ?? '';
}

/** Throttling, 5xx (but 501: the server will never implement it on retry), timeouts and network. */
export function isRetriableS3Failure(status: number | undefined, name: string, err: unknown): boolean {
  return (
    status === 429 ||
    (status !== undefined && status >= 500 && status !== 501) ||
    isTransientNetworkError(err) ||
    THROTTLING_CODES.has(name) ||
    TIMEOUT_CODES.has(name)
  );
}

/** S3's URI encoding of one key level: every byte but the unreserved characters, hex in upper case. */
function encodeLevel(level: string): string {
  return encodeURIComponent(level).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The AWS SDK's own SigV4 signer, configured as the SDK configures it for S3: the path is signed as
 * sent (already URI-encoded by `encodeLevel`, not encoded twice) and the payload's SHA-256 is taken
 * from `x-amz-content-sha256`, which we compute once. docs/adr/0019-s3-signing-library.md has the cost.
 */
export function s3Signer(
  options: Pick<S3RequestsOptions, 'region' | 'accessKeyId' | 'secretAccessKey'>,
): SignatureV4 {
  return new SignatureV4({
    service: 's3',
    region: options.region,
    credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
  });
}

/**
 * The keep-alive connection pool both request paths (ours and the SDK's) share: the SDK's default of
 * 50 sockets, over TLS for an https endpoint, trusting only the CA bundle in `caFile` when one is set
 * (a private CA) and the system's CAs otherwise.
 */
export function createS3Agent(
  options: Pick<S3StoreOptions, 'endpoint' | 'caFile' | 'lookup'>,
): http.Agent | https.Agent {
  const pool = { keepAlive: true, maxSockets: 50, lookup: options.lookup };
  if (new URL(options.endpoint).protocol !== 'https:') return new http.Agent(pool);
  return new https.Agent({ ...pool, ca: options.caFile ? readCaFile(options.caFile) : undefined });
}

function readCaFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw storageErrors(
      'STORAGE_CA_FILE_UNREADABLE',
      `storage.s3.caFile ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

export class S3Requests {
  private readonly transport: typeof http | typeof https;
  private readonly signer: SignatureV4;
  private readonly protocol: string;
  private readonly hostname: string;
  private readonly port: number | undefined;
  private readonly host: string;
  private readonly pathPrefix: string;

  constructor(private readonly options: S3RequestsOptions) {
    const endpoint = new URL(options.endpoint);
    this.protocol = endpoint.protocol;
    this.transport = endpoint.protocol === 'https:' ? https : http;
    this.signer = s3Signer(options);
    this.hostname = options.forcePathStyle ? endpoint.hostname : `${options.bucket}.${endpoint.hostname}`;
    this.port = endpoint.port ? Number(endpoint.port) : undefined;
    this.host = endpoint.port ? `${this.hostname}:${endpoint.port}` : this.hostname;
    const base = endpoint.pathname.replace(/\/+$/, '');
    this.pathPrefix = options.forcePathStyle ? `${base}/${encodeLevel(options.bucket)}` : base;
  }

  /**
   * Sends one request, retrying what the SDK would retry (with its backoff: full jitter from 100 ms,
   * 500 ms when throttled). A status outside 2xx and `accept` throws S3ResponseError.
   */
  async send(
    method: 'GET' | 'HEAD' | 'PUT',
    key: string,
    options: { body?: Uint8Array; headers?: Record<string, string>; accept?: readonly number[] } = {},
  ): Promise<S3Answer> {
    return retryWithBackoff(
      async () => {
        const answer = await this.attempt(method, key, options.body, options.headers ?? {});
        if ((answer.status >= 200 && answer.status < 300) || options.accept?.includes(answer.status)) {
          return answer;
        }
        throw responseError(method, key, answer);
      },
      {
        ...SDK_BACKOFF,
        retries: this.options.maxAttempts - 1,
        onRetry: () => {
          if (retryChannel.hasSubscribers) retryChannel.publish({ method } satisfies S3Retry);
        },
      },
    );
  }

  private async attempt(
    method: string,
    key: string,
    body: Uint8Array | undefined,
    extraHeaders: Record<string, string>,
  ): Promise<S3Answer> {
    const path = `${this.pathPrefix}/${key.split('/').map(encodeLevel).join('/')}`;
    const headers: Record<string, string> = {
      ...extraHeaders,
      host: this.host,
      'x-amz-content-sha256': body ? createHash('sha256').update(body).digest('hex') : EMPTY_SHA256,
    };
    if (body) headers['content-length'] = String(body.length);
    const signed = await this.signer.sign({
      method,
      protocol: this.protocol,
      hostname: this.hostname,
      port: this.port,
      path,
      query: {},
      headers,
    });
    return new Promise((resolve, reject) => {
      const request = this.transport.request(
        {
          agent: this.options.agent,
          hostname: this.hostname,
          port: this.port,
          method,
          path,
          headers: signed.headers,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const joined = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
            resolve({
              status: response.statusCode ?? 0,
              body: new Uint8Array(joined.buffer, joined.byteOffset, joined.length),
              etag: response.headers.etag,
            });
          });
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }
}

function responseError(method: string, key: string, answer: S3Answer): S3ResponseError {
  const text = Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.length).toString('utf8');
  const code =
    /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? CODE_OF_STATUS[answer.status] ?? `Http${answer.status}`;
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `${method} ${key}: HTTP ${answer.status}`;
  return new S3ResponseError(answer.status, code, message);
}
