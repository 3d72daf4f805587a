import { createHash, createHmac } from 'node:crypto';

/**
 * The SigV4 signer Granary wrote itself before docs/adr/0019-s3-signing-library.md replaced it with
 * the SDK's: kept here only as the signing bench's baseline, so the decision can be re-measured.
 */

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
