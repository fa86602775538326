// A farm of fake Go targets in one process, on loopback: each serves the
// recorded profiles of the Go fixture the way net/http/pprof does, with the
// cumulative ones (heap, mutex, block) growing between scrapes like a live
// process's, and the CPU profile answered after its window.

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { Profile } from 'pprof-format';

export interface FarmProfiles {
  readonly cpu: Buffer;
  readonly goroutine: Buffer;
  /** Version k is what a process serves at its k-th scrape of that type. */
  readonly heap: readonly Buffer[];
  readonly mutex: readonly Buffer[];
  readonly block: readonly Buffer[];
}

const CUMULATIVE: Record<string, readonly string[]> = {
  heap: ['alloc_objects', 'alloc_space'],
  mutex: ['contentions', 'delay'],
  block: ['contentions', 'delay'],
};

/**
 * Versions of a recorded cumulative profile as a process would serve them
 * at successive scrapes `gapNs` apart: the cumulative sample types grow by
 * `growth` of the recorded value per scrape (so every stack has a delta),
 * the others (heap inuse_*) stay, and the profile time moves on.
 */
export function growingVersions(gz: Buffer, type: string, count: number, gapNs: bigint, growth = 0.05): Buffer[] {
  const names = CUMULATIVE[type]!;
  const out: Buffer[] = [];
  for (let k = 0; k < count; k++) {
    const p = Profile.decode(gunzipSync(gz));
    const strings = p.stringTable.strings;
    const idx = p.sampleType.map((st, i) => (names.includes(strings[Number(st.type)] ?? '') ? i : -1)).filter((i) => i >= 0);
    const factor = BigInt(Math.round((1 + growth * k) * 1000));
    for (const s of p.sample) {
      for (const i of idx) s.value[i] = (BigInt(s.value[i]!) * factor) / 1000n + BigInt(k);
    }
    p.timeNanos = BigInt(p.timeNanos) + gapNs * BigInt(k);
    out.push(gzipSync(p.encode(), { level: zlibConstants.Z_BEST_SPEED }));
  }
  return out;
}

export function loadFarmProfiles(dir: string, heapFile = 'heap-bench.pb.gz', versions = 16): FarmProfiles {
  const read = (name: string) => readFileSync(join(dir, name));
  const gap = 10_000_000_000n;
  return {
    cpu: read('cpu-9s.pb.gz'),
    goroutine: read('goroutine.pb.gz'),
    heap: growingVersions(read(heapFile), 'heap', versions, gap),
    mutex: growingVersions(read('mutex-6.pb.gz'), 'mutex', versions, gap),
    block: growingVersions(read('block-6.pb.gz'), 'block', versions, gap),
  };
}

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
    const counts: Record<string, number> = {};
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
      const seq = name === 'heap' ? this.profiles.heap : name === 'mutex' ? this.profiles.mutex : name === 'block' ? this.profiles.block : null;
      if (!seq) {
        res.writeHead(404, { 'content-type': 'text/plain', 'x-go-pprof': '1' }).end('Unknown profile\n');
        return;
      }
      const k = counts[name] ?? 0;
      counts[name] = k + 1;
      send(seq[Math.min(k, seq.length - 1)]!);
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
