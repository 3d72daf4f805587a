import type { CliConfig } from './config.ts';
import { cliErrors } from './errors.ts';

const TIMEOUT_MS = 30_000;

export interface ApiCall {
  method?: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
}

/**
 * One call to the REST API as the configured user: the parsed JSON answer, or CLI_API_UNREACHABLE
 * (no answer) / CLI_API_ERROR (an error answer; `details.status` is its HTTP status, the message
 * carries Gnocchi's description).
 */
export async function callApi(config: CliConfig['apiClient'], call: ApiCall): Promise<unknown> {
  const url = new URL(call.path.replace(/^\//, ''), config.url.endsWith('/') ? config.url : `${config.url}/`);
  for (const [name, value] of Object.entries(call.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  if (config.token) headers['x-auth-token'] = config.token;
  else headers.authorization = `Basic ${Buffer.from(`${config.user}:${config.password}`).toString('base64')}`;
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, {
      method: call.method ?? 'GET',
      headers,
      ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (cause) {
    throw cliErrors('CLI_API_UNREACHABLE', `${url.origin}: ${(cause as Error).message}`, { cause });
  }
  const text = await response.text();
  if (!response.ok) {
    throw cliErrors('CLI_API_ERROR', `${response.status} ${errorDescription(text, response.statusText)}`, {
      details: { status: response.status },
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw cliErrors('CLI_API_ERROR', `${url.pathname} answered something that is not JSON`, { cause });
  }
}

/** Gnocchi's `description` (text, or voluptuous's object) of an error body, else the status text. */
function errorDescription(body: string, fallback: string): string {
  try {
    const parsed = JSON.parse(body) as { description?: unknown };
    if (typeof parsed.description === 'string') return parsed.description;
    if (parsed.description !== undefined) return JSON.stringify(parsed.description);
  } catch {
    // Not Gnocchi's JSON shape (a proxy's page): the status text says enough.
  }
  return fallback;
}

/** Whether `err` is the API's answer with this HTTP status. */
export function isApiStatus(err: unknown, status: number): boolean {
  return cliErrors.is(err, 'CLI_API_ERROR') && err.details?.status === status;
}
