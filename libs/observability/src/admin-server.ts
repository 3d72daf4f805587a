import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.ts';

/** Resolves to true when healthy; a thrown error or false is reported as 503 with the reason. */
export type Probe = () => boolean | Promise<boolean>;

export interface AdminServerOptions {
  host: string;
  port: number;
  registry: Registry;
  logger: Logger;
  /** Liveness: the process can make progress. */
  healthy?: Probe;
  /** Readiness: the process can take traffic or work (connected, assigned, caught up). */
  ready?: Probe;
}

/** What the server answers with; `serve` swaps it once the app that was starting is up. */
export type AdminTarget = Pick<AdminServerOptions, 'registry' | 'healthy' | 'ready'>;

export interface AdminServer {
  readonly url: string;
  /** Answers from now on with this registry and these probes. */
  serve(target: AdminTarget): void;
  /** Stops listening at once (the port is free for a replacement) and drops open connections. */
  close(): Promise<void>;
}

/** The small HTTP server every app runs beside its work: `/metrics`, `/healthz`, `/readyz`. */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  let target: AdminTarget = options;
  const probe = async (check: Probe | undefined): Promise<[number, string]> => {
    if (!check) return [200, 'ok'];
    try {
      return (await check()) ? [200, 'ok'] : [503, 'not ready'];
    } catch (err) {
      return [503, (err as Error).message];
    }
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const respond = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    const handle = async () => {
      if (path === '/metrics') {
        respond(200, await target.registry.metrics(), target.registry.contentType);
      } else if (path === '/healthz') {
        respond(...(await probe(target.healthy)));
      } else if (path === '/readyz') {
        respond(...(await probe(target.ready)));
      } else {
        respond(404, 'not found');
      }
    };
    handle().catch((err: unknown) => {
      options.logger.error({ err, path }, 'admin request failed');
      respond(500, 'internal error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  options.logger.info({ url }, 'admin server listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    serve: (next) => {
      target = next;
    },
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
