// A loopback reverse proxy that checks credentials the way kube-rbac-proxy
// (or any auth sidecar in front of net/http/pprof) does: a request whose
// Authorization header is not the one currently accepted gets 401 with a
// WWW-Authenticate challenge and never reaches the upstream; an accepted one
// is passed on to the real Go fixture. `accept` can change at run time (a
// rotated token). Every request is recorded with what it carried and what it
// got.

import { createServer, request as httpRequest, type Server } from 'node:http';
import { closeServer, listenLocal } from './servers.js';

export interface ProxiedRequest {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly status: number;
  /** Date.now() when it arrived. */
  readonly atMs: number;
}

export class AuthProxy {
  readonly requests: ProxiedRequest[] = [];
  private server: Server | null = null;
  private port = 0;

  /** `accept` is the Authorization value let through (or a list of them). */
  constructor(
    private readonly upstream: string,
    public accept: string | readonly string[],
  ) {}

  async start(): Promise<this> {
    const up = new URL(this.upstream);
    this.server = createServer((req, res) => {
      const authorization = req.headers.authorization;
      const accepted = typeof this.accept === 'string' ? [this.accept] : this.accept;
      const record = (status: number) => this.requests.push({ path: (req.url ?? '').split('?')[0]!, authorization, status, atMs: Date.now() });
      if (authorization === undefined || !accepted.includes(authorization)) {
        record(401);
        req.resume();
        res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="pprof"' }).end('Unauthorized\n');
        return;
      }
      const fwd = httpRequest({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: { ...req.headers, host: up.host } }, (r) => {
        record(r.statusCode ?? 502);
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      fwd.on('error', (err) => {
        record(502);
        if (!res.headersSent) res.writeHead(502).end(String(err));
        else res.destroy();
      });
      req.pipe(fwd);
    });
    this.port = await listenLocal(this.server);
    return this;
  }

  /** host:port, as a discovery lists it. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `http://${this.host}`;
  }

  async close(): Promise<void> {
    if (this.server) await closeServer(this.server);
    this.server = null;
  }
}
