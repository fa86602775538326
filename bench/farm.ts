// A farm of fake Go targets in one process, on loopback: each serves the
// recorded profiles of the Go fixture the way net/http/pprof does, with the
// cumulative ones (heap, mutex, block) growing at every scrape like a live
// process's (bench/versions.ts), and the CPU profile answered after its
// window.

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ProfileVersions, type CumulativeType } from './versions.js';

export interface FarmProfiles {
  readonly cpu: Buffer;
  readonly goroutine: Buffer;
  readonly cumulative: Readonly<Record<CumulativeType, ProfileVersions>>;
}

export interface FarmProfileOptions {
  /** The heap every target serves (a file in `dir`). */
  readonly heapFile: string;
  /** The collector's scrape interval: the profile time moves on by this per version. */
  readonly intervalMs: number;
  /** Profile time of every target's first scrape; default now. */
  readonly startMs?: number;
}

export function loadFarmProfiles(dir: string, o: FarmProfileOptions): FarmProfiles {
  const read = (name: string) => readFileSync(join(dir, name));
  const startNanos = BigInt(o.startMs ?? Date.now()) * 1_000_000n;
  const intervalNs = BigInt(o.intervalMs) * 1_000_000n;
  const versions = (file: string, type: CumulativeType) => new ProfileVersions(read(file), { type, startNanos, intervalNs });
  return {
    cpu: read('cpu-9s.pb.gz'),
    goroutine: read('goroutine.pb.gz'),
    cumulative: {
      heap: versions(o.heapFile, 'heap'),
      mutex: versions('mutex-6.pb.gz', 'mutex'),
      block: versions('block-6.pb.gz', 'block'),
    },
  };
}

const isCumulative = (name: string): name is CumulativeType => name === 'heap' || name === 'mutex' || name === 'block';

export class Farm {
  requests = 0;
  bytes = 0;
  private readonly servers: Server[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly urls: string[] = [];

  private constructor(private readonly profiles: FarmProfiles) {}

  static async start(n: number, profiles: FarmProfiles): Promise<Farm> {
    const farm = new Farm(profiles);
    for (let i = 0; i < n; i++) farm.urls.push(await farm.listenOne());
    return farm;
  }

  private async listenOne(): Promise<string> {
    // Scrapes of each cumulative type so far: the version this process serves next.
    const scrapes: Record<CumulativeType, number> = { heap: 0, mutex: 0, block: 0 };
    for (const v of Object.values(this.profiles.cumulative)) v.addServer();
    const server = createServer((req, res) => {
      this.requests++;
      const u = new URL(req.url ?? '/', 'http://farm');
      const name = u.pathname.replace(/^\/debug\/pprof\//, '');
      const send = (body: Buffer) => {
        this.bytes += body.length;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }).end(body);
      };
      if (name === 'profile') {
        const sec = Number.parseInt(u.searchParams.get('seconds') ?? '', 10);
        const t = setTimeout(() => {
          this.timers.delete(t);
          send(this.profiles.cpu);
        }, (Number.isFinite(sec) && sec > 0 ? sec : 30) * 1000);
        this.timers.add(t);
        req.once('close', () => {
          clearTimeout(t);
          this.timers.delete(t);
        });
        return;
      }
      if (name === 'goroutine') return send(this.profiles.goroutine);
      if (!isCumulative(name)) {
        res.writeHead(404, { 'content-type': 'text/plain', 'x-go-pprof': '1' }).end('Unknown profile\n');
        return;
      }
      send(this.profiles.cumulative[name].take(scrapes[name]++));
    });
    server.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
  }
}
