// The collector's own HTTP server on [agent] listen: /metrics (Prometheus
// text), /healthz (the process is alive), /readyz (profiles are safe: spooled or delivered).
// Plain node:http; nothing here can stop scraping.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/log.js';
import type { CollectorMetrics } from './metrics.js';

export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

export interface StatusServerOptions {
  readonly listen: string;
  readonly metrics: CollectorMetrics;
  readonly logger: Logger;
  /** Extra routes by exact path (the status pages add theirs here). */
  readonly routes?: Readonly<Record<string, Route>>;
  readonly ready?: () => { ready: boolean; why: string };
}

function splitHostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(listen.slice(i + 1)) };
}

export class StatusServer {
  private server: Server | null = null;

  constructor(private readonly opts: StatusServerOptions) {}

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://collector');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    switch (url.pathname) {
      case '/metrics': {
        const body = await this.opts.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': this.opts.metrics.registry.contentType }).end(body);
        return;
      }
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok\n');
        return;
      case '/readyz': {
        const r = this.opts.ready?.() ?? { ready: true, why: 'running' };
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(`${r.why}\n`);
        return;
      }
    }
    const route = this.opts.routes?.[url.pathname];
    if (route) return route(req, res, url);
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /metrics, /healthz, /readyz, /targets\n');
  }

  /** Listens; resolves with the base URL (the real port when listen ends in :0). */
  async start(): Promise<string> {
    const { host, port } = splitHostPort(this.opts.listen);
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        this.opts.logger.error({ err, path: req.url }, 'status server request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const addr = server.address() as AddressInfo;
    const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return `http://${shown}:${addr.port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
