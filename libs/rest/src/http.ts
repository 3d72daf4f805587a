import type { FastifyRequest } from 'fastify';

/**
 * JSON as Gnocchi prints it (Python's `json.dumps`: `", "` and `": "` separators, non-ASCII kept):
 * clients and the conformance suite match response text such as `"name": "medium"` literally.
 * Built by appending to one string: a year of measures is half a million rows.
 */
export function pythonJson(value: unknown): string {
  const out: string[] = [];
  appendPythonJson(value, out);
  return out.join('');
}

function appendPythonJson(value: unknown, out: string[]): void {
  if (value === null || value === undefined) {
    out.push('null');
  } else if (typeof value === 'number') {
    out.push(pythonNumber(value));
  } else if (Array.isArray(value)) {
    out.push('[');
    for (let index = 0; index < value.length; index++) {
      if (index > 0) out.push(', ');
      appendPythonJson(value[index], out);
    }
    out.push(']');
  } else if (typeof value === 'object') {
    out.push('{');
    let first = true;
    // Own keys only: an inherited (polluted) property must never reach a reply.
    for (const key of Object.keys(value)) {
      const member = (value as Record<string, unknown>)[key];
      if (member === undefined) continue;
      out.push(first ? '' : ', ', JSON.stringify(key), ': ');
      first = false;
      appendPythonJson(member, out);
    }
    out.push('}');
  } else {
    out.push(JSON.stringify(value));
  }
}

export function pythonNumber(value: number): string {
  if (Number.isFinite(value)) return String(value);
  // Python's json module writes these tokens; Gnocchi returns them for inf/NaN aggregates.
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
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
