import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The console's only sources are these files: scripts and styles from the same origin, requests to
 * the API beside it. No inline script or style attribute can run, so an attribute value that got
 * into the markup could not execute even if escaping failed.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  file: string;
  type: string;
}

const own = (name: string): string => fileURLToPath(new URL(`../assets/${name}`, import.meta.url));
const uplot = (name: string): string => createRequire(import.meta.url).resolve(`uplot/dist/${name}`);

/** Every file the console serves, by the name in its URL; nothing else under `/ui/` exists. */
const ASSETS = new Map<string, Asset>([
  ['index.html', { file: own('index.html'), type: 'text/html; charset=utf-8' }],
  ['console.css', { file: own('console.css'), type: 'text/css; charset=utf-8' }],
  ['app.js', { file: own('app.js'), type: 'text/javascript; charset=utf-8' }],
  ['api.js', { file: own('api.js'), type: 'text/javascript; charset=utf-8' }],
  ['dom.js', { file: own('dom.js'), type: 'text/javascript; charset=utf-8' }],
  ['format.js', { file: own('format.js'), type: 'text/javascript; charset=utf-8' }],
  ['uPlot.esm.js', { file: uplot('uPlot.esm.js'), type: 'text/javascript; charset=utf-8' }],
  ['uPlot.min.css', { file: uplot('uPlot.min.css'), type: 'text/css; charset=utf-8' }],
]);

function send(reply: FastifyReply, asset: Asset, body: Buffer): FastifyReply {
  return reply
    .type(asset.type)
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-cache')
    .send(body);
}

/**
 * `GET /ui/` and its assets, public like Gnocchi's root document: the files hold no data, and
 * every API call the page makes carries the credentials the user typed into it (ADR 0023). All
 * links are relative, so the console works under whatever prefix a proxy mounts the API at.
 */
export function registerConsole(app: FastifyInstance): void {
  // Read once at start: a missing asset is a broken installation, found before the first request.
  const bodies = new Map([...ASSETS].map(([name, asset]) => [name, readFileSync(asset.file)]));
  const config = { access: 'public', anyAccept: true, hidden: true } as const;
  app.get('/ui', { config }, async (request, reply) => {
    // `ui` and `ui/` are one route; relative URLs in the page need the slash.
    if (!request.url.split('?')[0]!.endsWith('/')) return reply.redirect('ui/', 302);
    return send(reply, ASSETS.get('index.html')!, bodies.get('index.html')!);
  });
  app.get<{ Params: { asset: string } }>('/ui/:asset', { config }, async (request, reply) => {
    const asset = ASSETS.get(request.params.asset);
    const body = bodies.get(request.params.asset);
    if (!asset || !body) return reply.code(404).type('text/plain; charset=utf-8').send('Not Found');
    return send(reply, asset, body);
  });
}
