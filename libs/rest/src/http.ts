import type { FastifyRequest } from 'fastify';

/**
 * JSON as Gnocchi prints it (Python's `json.dumps`: `", "` and `": "` separators, non-ASCII kept):
 * clients and the conformance suite match response text such as `"name": "medium"` literally.
 */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (typeof value === 'object') {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`);
    return `{${members.join(', ')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    // Python's json module writes these tokens; Gnocchi returns them for inf/NaN aggregates.
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  }
  return JSON.stringify(value);
}

/** Python's `urllib.parse.quote(text, safe='')`: what Gnocchi's Location headers contain. */
export function pythonQuote(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Python's `urllib.parse.quote_plus`, as `urlencode` applies it to query parameters. */
export function pythonQuotePlus(text: string): string {
  return pythonQuote(text).replaceAll('%20', '+');
}

/**
 * The URL clients reached us by, honouring `X-Forwarded-Proto`, `X-Forwarded-Host` and
 * `X-Forwarded-Prefix` (oslo's HTTPProxyToWSGI) when the deployment sits behind a proxy.
 */
export function publicBaseUrl(request: FastifyRequest, trustForwarded: boolean): string {
  const first = (name: string): string | undefined => {
    const raw = request.headers[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    return value?.split(',')[0]?.trim() || undefined;
  };
  const scheme = (trustForwarded && first('x-forwarded-proto')) || request.protocol;
  const host = (trustForwarded && first('x-forwarded-host')) || request.headers.host || 'localhost';
  const prefix = ((trustForwarded && first('x-forwarded-prefix')) || '').replace(/\/+$/, '');
  return `${scheme}://${host}${prefix}`;
}

/** True when an `Accept` header admits `application/json` (absent or empty accepts anything). */
export function acceptsJson(accept: string | undefined): boolean {
  if (!accept?.trim()) return true;
  return accept.split(',').some((range) => {
    const [type = '', ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) return false;
    return type === '*/*' || type === 'application/*' || type === 'application/json';
  });
}

/** The media type of a `Content-Type` header, lowercased, without parameters. */
export function mediaType(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase() || undefined;
}
