// The API is beside the console: `ui/` → `../v1/…`, so a proxy prefix is kept whatever it is.
const API_ROOT = new URL('../', document.baseURI);

/**
 * The credentials the user typed, as request headers; kept in memory only (a reload asks again),
 * never in storage a script of another page could read.
 * @type {{ label: string, headers: Record<string, string> } | null}
 */
let session = null;

/** @param {{ label: string, headers: Record<string, string> } | null} next */
export function setSession(next) {
  session = next;
}

export function currentSession() {
  return session;
}

export class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * A call to the API with the session's credentials; Gnocchi's error bodies become ApiErrors.
 * @param {string} path relative to the API root, e.g. `v1/resource/generic`
 * @param {{ method?: string, query?: Record<string, string|undefined>, body?: unknown }} [options]
 */
export async function api(path, options = {}) {
  const url = new URL(path, API_ROOT);
  for (const [name, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined && value !== '') url.searchParams.set(name, value);
  }
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json', ...(session?.headers ?? {}) };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    credentials: 'omit',
    // The API's answers carry ETag/Last-Modified, which would let the browser serve a resource
    // from its cache, heuristically fresh, after it changed.
    cache: 'no-store',
  });
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, errorDescription(body, response.statusText));
  return body;
}

/** @param {any} body @param {string} fallback */
function errorDescription(body, fallback) {
  const description = body?.description ?? body?.title ?? fallback;
  return typeof description === 'string' ? description : JSON.stringify(description);
}
