// A stand-in for the Go fixture when Go is not installed: serves the real
// profiles recorded from it (fixtures/profiles) the way net/http/pprof does.
// Cumulative types step through their recorded sequence, one file per
// request, so the collector computes real deltas; at the end of the sequence
// it starts over, which looks like a restarted process (the collector
// re-baselines). test/helpers/tls.ts serves the same over https with
// pprofReplay().

import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROFILES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'profiles');

interface Manifest {
  readonly steps: number;
}

export interface ReplayTarget {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The recorded profiles, answered the way net/http/pprof does. `answer`
 * serves one request and calls `answered(status)` as it sends the status (a
 * CPU profile's only once its window is over); `stop` cancels the CPU
 * windows still running.
 */
export interface PprofReplay {
  answer(req: IncomingMessage, res: ServerResponse, answered?: (status: number) => void): void;
  stop(): void;
}

export function pprofReplay(): PprofReplay {
  const manifest = JSON.parse(readFileSync(join(PROFILES, 'manifest.json'), 'utf8')) as Manifest;
  const load = (name: string) => readFileSync(join(PROFILES, name));
  const sequences: Record<string, Buffer[]> = {};
  for (const type of ['heap', 'mutex', 'block']) {
    sequences[type] = Array.from({ length: manifest.steps }, (_, i) => load(`${type}-${i + 1}.pb.gz`));
  }
  const cpu = load('cpu.pb.gz');
  const goroutine = load('goroutine.pb.gz');
  const position: Record<string, number> = {};
  const timers = new Set<NodeJS.Timeout>();

  const answer = (req: IncomingMessage, res: ServerResponse, answered: (status: number) => void = () => undefined): void => {
    const u = new URL(req.url ?? '/', 'http://replay');
    const name = u.pathname.replace(/^\/debug\/pprof\/?/, '');
    const send = (body: Buffer) => {
      answered(200);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-content-type-options': 'nosniff' });
      res.end(body);
    };
    if (!u.pathname.startsWith('/debug/pprof/')) {
      answered(404);
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    if (name === 'profile') {
      // Like Go: integer seconds, anything else profiles 30s; the body comes after the window.
      const sec = Number.parseInt(u.searchParams.get('seconds') ?? '', 10);
      const window = Number.isFinite(sec) && sec > 0 ? sec : 30;
      const t = setTimeout(() => {
        timers.delete(t);
        send(cpu);
      }, window * 1000);
      timers.add(t);
      return;
    }
    if (name === 'goroutine') return send(goroutine);
    const seq = sequences[name];
    if (!seq) {
      answered(404);
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'x-go-pprof': '1' }).end('Unknown profile\n');
      return;
    }
    const i = position[name] ?? 0;
    position[name] = (i + 1) % seq.length;
    send(seq[i]!);
  };
  return {
    answer,
    stop: () => {
      for (const t of timers) clearTimeout(t);
    },
  };
}

export async function startReplayTarget(host = '127.0.0.1', port = 0): Promise<ReplayTarget> {
  const replay = pprofReplay();
  const server: Server = createServer((req, res) => replay.answer(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        replay.stop();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
