import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { CONSOLE_CSP, registerConsole } from '../index.ts';

describe('the /ui routes', () => {
  const app = Fastify({ routerOptions: { ignoreTrailingSlash: true } });
  registerConsole(app);

  it('redirects /ui relatively, keeping whatever prefix the browser used', async () => {
    const answer = await app.inject({ url: '/ui' });
    expect(answer.statusCode).toBe(302);
    expect(answer.headers.location).toBe('ui/');
  });

  it('serves the page and its modules with the CSP and their media types', async () => {
    const page = await app.inject({ url: '/ui/' });
    expect(page.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).not.toMatch(/ on[a-z]+=|<script>/);
    const script = await app.inject({ url: '/ui/uPlot.esm.js' });
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toContain('export');
  });

  it('serves nothing but its own files', async () => {
    for (const url of ['/ui/..%2Fpackage.json', '/ui/plugin.ts', '/ui/%2e%2e']) {
      expect((await app.inject({ url })).statusCode).toBe(404);
    }
  });
});
