// A fake Go pprof endpoint on loopback that serves recorded profiles of the
// Go fixture and counts what it was asked: goroutine (and the other
// non-CPU types) at once, the CPU profile after its ?seconds= window (real
// time) or at once. Much cheaper than a Go process when a test only needs
// to know who was scraped when.

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { ROOT } from './processes.js';
import { closeServer, listenLocal } from './servers.js';

const PROFILES = join(ROOT, 'fixtures', 'profiles');

export interface FakeRequest {
  /** Date.now() (or the injected clock) when the request arrived. */
  readonly at: number;
  readonly path: string;
  readonly query: string;
  /** When the answer was sent (the CPU window ends), or undefined if never. */
  answeredAt?: number;
}

export interface FakePprofOptions {
  /** CPU profiles: answer after ?seconds= of real time (true), or at once. */
  readonly realCpuWindow?: boolean;
  /** Time source for `at` (a FakeClock in unit tests). */
  readonly now?: () => number;
}

export class FakePprofServer {
  readonly requests: FakeRequest[] = [];
  private server: Server | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly now: () => number;
  port = 0;

  private static readonly bodies: Record<string, Buffer> = {
    profile: readFileSync(join(PROFILES, 'cpu-9s.pb.gz')),
    goroutine: readFileSync(join(PROFILES, 'goroutine.pb.gz')),
  };

  constructor(private readonly opts: FakePprofOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      req.resume();
      res.on('error', () => undefined);
      const [path = '', query = ''] = (req.url ?? '').split('?');
      const r: FakeRequest = { at: this.now(), path, query };
      this.requests.push(r);
      const name = path.replace(/^\/debug\/pprof\//, '');
      const body = FakePprofServer.bodies[name];
      if (!body) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`${path}: not served here\n`);
        return;
      }
      const send = () => {
        r.answeredAt = this.now();
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-content-type-options': 'nosniff' }).end(body);
      };
      const seconds = Number(new URLSearchParams(query).get('seconds') ?? '0');
      if (name === 'profile' && this.opts.realCpuWindow && seconds > 0) {
        const t = setTimeout(() => {
          this.timers.delete(t);
          if (!res.destroyed) send();
        }, seconds * 1000);
        this.timers.add(t);
        res.on('close', () => {
          clearTimeout(t);
          this.timers.delete(t);
        });
      } else send();
    });
    this.port = await listenLocal(this.server);
    return this;
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `http://${this.addr}`;
  }

  count(type: 'profile' | 'goroutine'): number {
    return this.requests.filter((r) => r.path === `/debug/pprof/${type}`).length;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (!this.server) return;
    await closeServer(this.server);
    this.server = null;
  }
}
