import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isTransientNetworkError } from '@granary/errors';
import type { S3StoreOptions } from './s3-store.ts';

/**
 * Object-level S3 requests (GET, HEAD, PUT with optional conditions) signed with SigV4 and sent
 * over a keep-alive agent, without the AWS SDK. The SDK spends 0.5–0.8 ms of CPU per request in its
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
const TIMEOUT_CODES = new Set(['TimeoutError', 'RequestTimeout']);

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

export interface SigningInput {
  readonly method: string;
  /** The canonical (already URI-encoded) path. */
  readonly path: string;
  /** Every header sent but `authorization`, names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** `x-amz-date`, e.g. 20130524T000000Z. */
  readonly amzDate: string;
  readonly payloadSha256: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

const signingKeys = new Map<string, Buffer>();

function signingKey(secretAccessKey: string, date: string, region: string): Buffer {
  const cacheKey = `${secretAccessKey}\u0000${date}\u0000${region}`;
  let key = signingKeys.get(cacheKey);
  if (!key) {
    key = createHmac('sha256', `AWS4${secretAccessKey}`).update(date).digest();
    for (const part of [region, 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
    // One key per day and region: drop yesterday's rather than let the cache grow.
    signingKeys.clear();
    signingKeys.set(cacheKey, key);
  }
  return key;
}

/** The SigV4 `Authorization` header of a request without a query string (AWS's header-based auth). */
export function authorizationHeader(input: SigningInput): string {
  const names = Object.keys(input.headers).sort();
  const canonicalHeaders = names
    .map((name) => `${name}:${(input.headers[name] as string).trim().replace(/ +/g, ' ')}\n`)
    .join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = `${input.method}\n${input.path}\n\n${canonicalHeaders}\n${signedHeaders}\n${input.payloadSha256}`;
  const date = input.amzDate.slice(0, 8);
  const scope = `${date}/${input.region}/s3/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${input.amzDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
  const signature = createHmac('sha256', signingKey(input.secretAccessKey, date, input.region))
    .update(stringToSign)
    .digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

function amzDateOf(now: Date): string {
  return now.toISOString().replace(/[-:]|\.\d{3}/g, '');
}

export class S3Requests {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly hostname: string;
  private readonly port: string;
  private readonly host: string;
  private readonly pathPrefix: string;

  constructor(private readonly options: S3RequestsOptions) {
    const endpoint = new URL(options.endpoint);
    const secure = endpoint.protocol === 'https:';
    this.transport = secure ? https : http;
    // The SDK's default agent: keep-alive, 50 sockets.
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 50 });
    this.hostname = options.forcePathStyle ? endpoint.hostname : `${options.bucket}.${endpoint.hostname}`;
    this.port = endpoint.port;
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
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await this.attempt(method, key, options.body, options.headers ?? {});
        if ((answer.status >= 200 && answer.status < 300) || options.accept?.includes(answer.status)) {
          return answer;
        }
        throw responseError(method, key, answer);
      } catch (err) {
        const status = err instanceof S3ResponseError ? err.status : undefined;
        const name = (err as { name?: string }).name ?? '';
        if (attempt >= this.options.maxAttempts || !isRetriableS3Failure(status, name, err)) throw err;
        const base = THROTTLING_CODES.has(name) || status === 429 ? 500 : 100;
        const delayMs = Math.floor(Math.random() * Math.min(20_000, base * 2 ** attempt));
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private attempt(
    method: string,
    key: string,
    body: Uint8Array | undefined,
    extraHeaders: Record<string, string>,
  ): Promise<S3Answer> {
    const path = `${this.pathPrefix}/${key.split('/').map(encodeLevel).join('/')}`;
    const payloadSha256 = body ? createHash('sha256').update(body).digest('hex') : EMPTY_SHA256;
    const headers: Record<string, string> = {
      ...extraHeaders,
      host: this.host,
      'x-amz-content-sha256': payloadSha256,
      'x-amz-date': amzDateOf(new Date()),
    };
    if (body) headers['content-length'] = String(body.length);
    headers.authorization = authorizationHeader({
      method,
      path,
      headers,
      amzDate: headers['x-amz-date'] as string,
      payloadSha256,
      region: this.options.region,
      accessKeyId: this.options.accessKeyId,
      secretAccessKey: this.options.secretAccessKey,
    });
    return new Promise((resolve, reject) => {
      const request = this.transport.request(
        { agent: this.agent, hostname: this.hostname, port: this.port, method, path, headers },
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
