import { request as httpRequest } from 'node:http';
import { firstDifference, firstTextDifference } from './compare.ts';
import type { Case, Operation, Read } from './workload.ts';

/** A Gnocchi-compatible REST API: the oracle or Granary. */
export interface System {
  name: string;
  url: string;
  /** The same basic credentials work on both: Gnocchi's basic mode ignores the password. */
  authorization: string;
}

/** One request of a case and what a system answered; metric ids are replaced by `m0`, `m1`, …. */
export interface Exchange {
  request: string;
  status: number;
  body: unknown;
  /** The body as sent (ids replaced): measures bodies are compared byte for byte too. */
  text: string;
}

export interface Difference {
  seed: number;
  request: string;
  detail: string;
  /**
   * Why, when the difference is understood (docs/compatibility.md lists each id):
   * `gnocchi-error` when Gnocchi itself failed (5xx or no answer) and Granary answered sanely.
   * Undefined: an unexplained difference.
   */
  explanation?: string;
}

const REFRESH_ATTEMPTS = 20;
const REQUEST_TIMEOUT_MS = 30_000;
/** The status recorded for a request that got no HTTP answer at all. */
const NO_ANSWER = 0;

/** Feeds `c` to `system` (policy, metrics, batches each processed before the next), then reads. */
export async function runCase(system: System, c: Case): Promise<Exchange[]> {
  const exchanges: Exchange[] = [];
  const ids: string[] = [];
  const call = async (method: string, path: string, body?: unknown) => {
    let answer: { status: number; text: string };
    try {
      answer = await send(`${system.url}${path}`, method, system.authorization, body);
    } catch (err) {
      // Gnocchi's uwsgi closes the connection without a word when the app raises before answering.
      const text = `no answer: ${(err as Error).message}`;
      return { status: NO_ANSWER, body: text, text };
    }
    let { text } = answer;
    for (const [i, id] of ids.entries()) text = text.replaceAll(id, `m${i}`);
    let parsed: unknown = text;
    try {
      // Both write NaN and ±Infinity, which are not JSON (docs/compatibility.md).
      parsed = JSON.parse(text.replace(/(?<=[[,]\s*)(?:NaN|-?Infinity)(?=\s*[\],])/g, 'null'));
    } catch {
      // Not JSON (an empty 202, or an HTML error page): compared as text.
    }
    return { status: answer.status, body: canonical(parsed), text };
  };
  const record = async (method: string, path: string, body?: unknown) => {
    const request = `${method} ${anonymize(path, ids)}${body === undefined ? '' : ` ${JSON.stringify(anonymizeJson(body, ids))}`}`;
    const answer = await call(method, path, body);
    exchanges.push({ request, ...answer });
    return answer;
  };

  await record('POST', '/v1/archive_policy', c.policy);
  for (let m = 0; m < c.metrics; m++) {
    const created = await call('POST', '/v1/metric', { archive_policy_name: c.policy.name });
    const id = (created.body as { id?: string }).id;
    if (created.status !== 201 || typeof id !== 'string') {
      throw new Error(
        `${system.name}: metric creation answered ${created.status}: ${JSON.stringify(created.body)}`,
      );
    }
    ids.push(id);
  }
  const first = c.policy.aggregation_methods[0] as string;
  for (const batch of c.batches) {
    for (const [m, measures] of batch.entries()) {
      if (measures.length > 0) await record('POST', `/v1/metric/${ids[m]}/measures`, measures);
    }
    // Processed before the next batch, so both see the same processing runs.
    for (const id of ids) {
      for (let attempt = 1; ; attempt++) {
        const refreshed = await call(
          'GET',
          `/v1/metric/${id}/measures?refresh=true&aggregation=${encodeURIComponent(first)}`,
        );
        // Gnocchi answers 503 while metricd holds the metric's lock.
        if (refreshed.status !== 503 || attempt === REFRESH_ATTEMPTS) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }
  for (const read of c.reads) await perform(read, ids, record);
  return exchanges;
}

async function perform(
  read: Read,
  ids: string[],
  record: (method: string, path: string, body?: unknown) => Promise<unknown>,
): Promise<void> {
  const query = new URLSearchParams(read.query).toString();
  if (read.kind === 'measures') {
    await record('GET', `/v1/metric/${ids[read.metric]}/measures${query ? `?${query}` : ''}`);
    return;
  }
  await record('POST', `/v1/aggregates${query ? `?${query}` : ''}`, {
    operations: render(read.operations, ids),
  });
}

/** The operations tree with real metric ids: `["metric", id, agg]` or `["metric", [[id, agg], …]]`. */
function render(operation: Operation, ids: string[]): unknown {
  if (!Array.isArray(operation)) return operation;
  if (operation[0] === 'metric') {
    const references = (operation.slice(1) as { metric: number; aggregation: string }[]).map((r) => [
      ids[r.metric],
      r.aggregation,
    ]);
    return references.length === 1 ? ['metric', ...(references[0] as string[])] : ['metric', references];
  }
  return operation.map((o) => render(o, ids));
}

/**
 * One request on a connection of its own (`Connection: close`): the oracle's uwsgi runs without
 * keep-alive (oracle.ts), and a pooled connection it has closed would fail the next request.
 */
function send(
  url: string,
  method: string,
  authorization: string,
  body: unknown,
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      method,
      agent: false,
      timeout: REQUEST_TIMEOUT_MS,
      headers: {
        authorization,
        'content-type': 'application/json',
        ...(payload === undefined ? {} : { 'content-length': payload.length }),
      },
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    request.end(payload);
  });
}

/** An archive policy's methods are a set: Gnocchi lists them in its Python set's order. */
function canonical(body: unknown): unknown {
  const methods = (body as { aggregation_methods?: unknown } | null)?.aggregation_methods;
  if (Array.isArray(methods)) methods.sort();
  return body;
}

function anonymize(text: string, ids: string[]): string {
  return ids.reduce((out, id, i) => out.replaceAll(id, `m${i}`), text);
}

function anonymizeJson(value: unknown, ids: string[]): unknown {
  return JSON.parse(anonymize(JSON.stringify(value), ids));
}

/**
 * Every request whose answers differ: another status, or (both successful) other bodies. Two
 * refusals (4xx) agree whatever their messages say; those are the conformance suite's business.
 */
export function compareCase(seed: number, oracle: Exchange[], granary: Exchange[]): Difference[] {
  const differences: Difference[] = [];
  for (const [i, expected] of oracle.entries()) {
    const actual = granary[i];
    if (actual === undefined || actual.request !== expected.request) {
      differences.push({ seed, request: expected.request, detail: 'not sent to Granary' });
      continue;
    }
    const failed = (status: number) => status >= 500 || status === NO_ANSWER;
    if (failed(actual.status)) {
      differences.push({
        seed,
        request: expected.request,
        detail: `Granary ${actual.status}: ${summary(actual.body)}`,
      });
      continue;
    }
    if (failed(expected.status)) {
      differences.push({
        seed,
        request: expected.request,
        detail: `Gnocchi ${expected.status}, Granary ${actual.status}`,
        explanation: 'gnocchi-error',
      });
      continue;
    }
    if (expected.status !== actual.status) {
      differences.push({
        seed,
        request: expected.request,
        detail: `status ${expected.status} ≠ ${actual.status}: ${summary(expected.body)} / ${summary(actual.body)}`,
      });
      continue;
    }
    if (expected.status >= 400) continue;
    const detail =
      firstDifference(expected.body, actual.body) ??
      (MEASURES_READ.test(expected.request) ? firstTextDifference(expected.text, actual.text) : undefined);
    if (detail !== undefined) differences.push({ seed, request: expected.request, detail });
  }
  return differences;
}

/** The reads whose bodies are rows of measures: Gnocchi's floats (`60.0`) are compared as written. */
const MEASURES_READ = /^(?:GET \/v1\/metric\/\S+\/measures|POST \/v1\/aggregates)/;

function summary(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
