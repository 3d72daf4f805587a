import { pollingErrors } from './errors.ts';

export interface HttpGetOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
}

/**
 * GET `url` and return its body. An unreachable server, a timeout or a 5xx is
 * POLLING_SOURCE_FAILED (worth polling again next cycle); any other non-200 answer is
 * POLLING_BAD_RESPONSE.
 */
export async function httpGet(url: string, options: HttpGetOptions): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { headers: options.headers, signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (cause) {
    const reason =
      cause instanceof Error && cause.name === 'TimeoutError'
        ? `timed out after ${options.timeoutMs} ms`
        : String((cause as Error).cause ?? cause);
    throw pollingErrors('POLLING_SOURCE_FAILED', `GET ${url}: ${reason}`, { cause });
  }
  const body = await response.text();
  if (response.status === 200) return body;
  const code = response.status >= 500 ? 'POLLING_SOURCE_FAILED' : 'POLLING_BAD_RESPONSE';
  throw pollingErrors(code, `GET ${url}: HTTP ${response.status}`, { details: { status: response.status } });
}
