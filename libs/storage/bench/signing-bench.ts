/**
 * CPU cost of signing one S3 object request with SigV4: the SDK's signer as S3Requests uses it
 * (`s3Signer`) against the hand-written signer it replaced (docs/adr/0019-s3-signing-library.md).
 * Each signing does what a request does before it is sent: hash the payload, build the headers, sign.
 * Prints µs of CPU per request for a GET (empty payload) and a 4 KiB PUT with `If-Match`.
 * Run: `npm run bench -w @granary/storage`.
 */
import { createHash } from 'node:crypto';
import { s3Signer } from '../src/s3-requests.ts';
import { authorizationHeader } from './hand-written-sigv4.ts';

const SIGNINGS = 10_000;
const WARM_UP = 2_000;
const ROUNDS = 3;
const region = 'us-east-1';
const credentials = { accessKeyId: 'granary', secretAccessKey: 'granary' };
const host = 'granary-aggregates.s3.example.net';
const path = '/5b7ebe90-4ad2-4c83-ad2c-f6a8c4e4e2a1/mean_60.0_1763700000.0_v3';
const signer = s3Signer({ region, ...credentials });

interface Request {
  readonly method: 'GET' | 'PUT';
  readonly body: Uint8Array | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

const requests: readonly Request[] = [
  { method: 'GET', body: undefined, headers: {} },
  { method: 'PUT', body: new Uint8Array(4096).fill(7), headers: { 'if-match': '"0123456789abcdef"' } },
];

function headersOf(request: Request): Record<string, string> {
  const headers: Record<string, string> = {
    ...request.headers,
    host,
    'x-amz-content-sha256': createHash('sha256')
      .update(request.body ?? new Uint8Array())
      .digest('hex'),
  };
  if (request.body) headers['content-length'] = String(request.body.length);
  return headers;
}

const signers = {
  'smithy signature-v4': async (request: Request, now: Date) => {
    const signed = await signer.sign(
      {
        method: request.method,
        protocol: 'https:',
        hostname: host,
        path,
        query: {},
        headers: headersOf(request),
      },
      { signingDate: now },
    );
    return signed.headers.authorization;
  },
  'hand-written': async (request: Request, now: Date) => {
    const headers = headersOf(request);
    const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '');
    headers['x-amz-date'] = amzDate;
    const payloadSha256 = headers['x-amz-content-sha256'] as string;
    return authorizationHeader({
      method: request.method,
      path,
      headers,
      amzDate,
      payloadSha256,
      region,
      ...credentials,
    });
  },
};

/** µs of CPU (user + system) per signing, the best of ROUNDS runs. */
async function cpuMicrosPerSigning(
  sign: (request: Request, now: Date) => Promise<unknown>,
  request: Request,
) {
  for (let i = 0; i < WARM_UP; i++) await sign(request, new Date());
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < SIGNINGS; i++) await sign(request, new Date());
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / SIGNINGS);
  }
  return best;
}

const now = new Date();
for (const request of requests) {
  const [library, handWritten] = await Promise.all([
    signers['smithy signature-v4'](request, now),
    signers['hand-written'](request, now),
  ]);
  if (library !== handWritten)
    throw new Error(`the signers disagree on ${request.method}:\n${library}\n${handWritten}`);
}
console.log(`SigV4 signing, ${SIGNINGS} signings per figure (best of ${ROUNDS}), µs of CPU per request:`);
for (const request of requests) {
  const figures = new Map<string, number>();
  for (const [name, sign] of Object.entries(signers))
    figures.set(name, await cpuMicrosPerSigning(sign, request));
  const library = figures.get('smithy signature-v4') as number;
  const handWritten = figures.get('hand-written') as number;
  console.log(
    `${request.method.padEnd(3)} ${request.body ? `${request.body.length} B` : 'empty'}: ` +
      `smithy signature-v4 ${library.toFixed(1)} µs, hand-written ${handWritten.toFixed(1)} µs ` +
      `(${(library / handWritten).toFixed(2)}x, +${(library - handWritten).toFixed(1)} µs)`,
  );
}
