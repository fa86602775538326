// The collector's own HTTP server on [agent] listen: /metrics (Prometheus
// text), /healthz (the process is alive), /readyz (profiles are safe: spooled or delivered).
// node:http, or node:https with [agent.web] tls_cert/tls_key; with users or a
// token in [agent.web], everything but the two probes asks for them.
// Nothing here can stop scraping.

import { readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { WebConfig } from '../config/types.js';
import type { Logger } from '../core/log.js';
import type { CollectorMetrics } from './metrics.js';
import { WebAuth } from './web-auth.js';

export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

export interface StatusServerOptions {
  readonly listen: string;
  readonly metrics: CollectorMetrics;
  readonly logger: Logger;
  /** Extra routes by exact path (the status pages add theirs here). */
  readonly routes?: Readonly<Record<string, Route>>;
  readonly ready?: () => { ready: boolean; why: string };
  /** [agent.web]: TLS and who may read. */
  readonly web?: WebConfig;
  /** Made from `web` when not given. */
  readonly auth?: WebAuth;
}

/** Open without credentials: the kubelet's (or systemd's) probes say nothing about targets. */
const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

function splitHostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(listen.slice(i + 1)) };
}

/** How often the certificate files are looked at for a renewal. */
export const TLS_RELOAD_CHECK_MS = 30_000;

export class StatusServer {
  private server: Server | null = null;
  private readonly auth: WebAuth;
  private tlsWatch: NodeJS.Timeout | null = null;
  private tlsStamp = '';

  constructor(private readonly opts: StatusServerOptions) {
    this.auth = opts.auth ?? new WebAuth(opts.web);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://collector');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    if (!OPEN_PATHS.has(url.pathname) && this.auth.required) {
      const verdict = await this.auth.check(req.headers.authorization);
      if (verdict === 'throttled') {
        res.writeHead(429, { 'retry-after': '1', 'content-type': 'text/plain; charset=utf-8' }).end('too many password checks: try again in a second\n');
        return;
      }
      if (verdict !== 'ok') {
        res.writeHead(401, { 'www-authenticate': this.auth.challenge(), 'content-type': 'text/plain; charset=utf-8' }).end('unauthorized: see [agent.web] in the config\n');
        return;
      }
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
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err) => {
        this.opts.logger.error({ err, path: req.url }, 'status server request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      });
    };
    const tls = this.opts.web?.tls;
    let server: Server;
    if (tls) {
      this.tlsStamp = tlsStamp(tls);
      server = createHttpsServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, onRequest);
      // A renewed certificate (cert-manager, a Secret update) is picked up without a restart.
      this.tlsWatch = setInterval(() => this.reloadTls(), TLS_RELOAD_CHECK_MS);
      this.tlsWatch.unref();
    } else server = createServer(onRequest);
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
    return `${tls ? 'https' : 'http'}://${shown}:${addr.port}`;
  }

  /**
   * Serves the certificate and key from their files again when either file
   * changed since it was read; a pair that does not load is logged and the
   * old one kept. Returns whether a new pair is served.
   */
  reloadTls(): boolean {
    const tls = this.opts.web?.tls;
    const server = this.server as (Server & { setSecureContext?: (o: object) => void }) | null;
    if (!tls || !server?.setSecureContext) return false;
    try {
      const stamp = tlsStamp(tls);
      if (stamp === this.tlsStamp) return false;
      // Said once per change: a cert written before its key is tried again when the key changes.
      this.tlsStamp = stamp;
      server.setSecureContext({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) });
    } catch (err) {
      this.opts.logger.error({ err: { message: (err as Error).message } }, `the status server's certificate or key changed but cannot be loaded (${tls.certFile}, ${tls.keyFile}); still serving the previous pair`);
      return false;
    }
    this.opts.logger.info({ cert: tls.certFile }, "the status server's certificate changed: serving the new one");
    return true;
  }

  async close(): Promise<void> {
    if (this.tlsWatch) clearInterval(this.tlsWatch);
    this.tlsWatch = null;
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** Modification times and sizes of the certificate and key: a renewal changes them. */
function tlsStamp(tls: NonNullable<WebConfig['tls']>): string {
  return [tls.certFile, tls.keyFile]
    .map((f) => {
      try {
        const st = statSync(f);
        return `${st.mtimeMs}/${st.size}/${st.ino}`;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code ?? 'unreadable';
      }
    })
    .join(' ');
}
