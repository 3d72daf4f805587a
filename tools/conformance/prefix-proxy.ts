import { type IncomingHttpHeaders, createServer, request as forward } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A reverse proxy in front of the API, serving it below a path prefix. */
export interface PrefixProxy {
  /** `http://127.0.0.1:<port><prefix>`: where the gabbi files are run. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `http://127.0.0.1:<apiPort>` under `prefix`, as Gnocchi's gabbi loader mounts its app
 * under `/gnocchi` (the WSGI SCRIPT_NAME): the prefix is taken off the path and handed on as
 * `X-Forwarded-Prefix`, the Host header and everything else unchanged, so the links the API builds
 * (with `trustForwardedHeaders`) are the `$SCHEME://$NETLOC` the files expect, prefix included.
 * Paths outside the prefix are 404s.
 */
export function startPrefixProxy(prefix: string, apiPort: number): Promise<PrefixProxy> {
  const server = createServer((incoming, outgoing) => {
    const url = incoming.url ?? '/';
    if (url !== prefix && !url.startsWith(`${prefix}/`) && !url.startsWith(`${prefix}?`)) {
      outgoing.writeHead(404).end();
      return;
    }
    const headers: IncomingHttpHeaders = {
      ...incoming.headers,
      // Prepended to what a client sent, as SCRIPT_NAME follows the client's X-Forwarded-Prefix.
      'x-forwarded-prefix': `${incoming.headers['x-forwarded-prefix'] ?? ''}${prefix}`,
    };
    const upstream = forward(
      {
        host: '127.0.0.1',
        port: apiPort,
        method: incoming.method,
        path: url.slice(prefix.length) || '/',
        headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', (err) =>
      outgoing.headersSent ? outgoing.destroy(err) : outgoing.writeHead(502).end(String(err)),
    );
    incoming.pipe(upstream);
  });
  return new Promise((ready, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      ready({
        url: `http://127.0.0.1:${port}${prefix}`,
        close: () => {
          server.closeAllConnections();
          return new Promise((closed) => server.close(() => closed()));
        },
      });
    });
  });
}
