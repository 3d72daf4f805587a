import type { FastifyRequest } from 'fastify';

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
 * The URL clients reached us by. With `trustForwarded` (Gnocchi's `[api]
 * enable_proxy_headers_parsing`, its HTTPProxyToWSGI middleware): the scheme and host of the first
 * proxy of an RFC 7239 `Forwarded` header, or without one `X-Forwarded-Proto` and
 * `X-Forwarded-Host`; and `X-Forwarded-Prefix` before the path either way. Without it these headers
 * are ignored: any client could otherwise point the links of its answers elsewhere.
 */
export function publicBaseUrl(request: FastifyRequest, trustForwarded: boolean): string {
  const scheme = request.protocol;
  const host = request.headers.host || 'localhost';
  if (!trustForwarded) return `${scheme}://${host}`;
  const first = (name: string): string | undefined => {
    const raw = request.headers[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    return value?.split(',')[0]?.trim() || undefined;
  };
  const forwarded = first('forwarded');
  const proxy = forwarded
    ? forwardedProxy(forwarded)
    : { proto: first('x-forwarded-proto'), host: first('x-forwarded-host') };
  const prefix = (first('x-forwarded-prefix') ?? '').replace(/\/+$/, '');
  return `${proxy.proto || scheme}://${proxy.host || host}${quotePath(prefix)}`;
}

/** `proto` and `host` of one `Forwarded` element (`for=192.0.2.60;proto=https;host="a:8041"`). */
function forwardedProxy(element: string): { proto?: string; host?: string } {
  const proxy: { proto?: string; host?: string } = {};
  for (const pair of element.split(';')) {
    const [name = '', ...rest] = pair.split('=');
    const value = rest
      .join('=')
      .trim()
      .replace(/^"(.*)"$/, '$1');
    const key = name.trim().toLowerCase();
    if (key === 'proto' || key === 'host') proxy[key] = value;
  }
  return proxy;
}

/** A path as webob quotes SCRIPT_NAME into its URLs (what Gnocchi does to the prefix). */
function quotePath(path: string): string {
  return encodeURIComponent(path).replace(/%(2F|24|26|2B|2C|3B|3D|3A|40)/g, (quoted) =>
    decodeURIComponent(quoted),
  );
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
