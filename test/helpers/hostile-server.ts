// Misbehaving "pprof targets" for the hostile-target tests: one server per
// mode on 127.0.0.1:0, answering every path (and every query) the same way.
// Every server is bounded: close() clears its timers, destroys its sockets and
// resolves once nothing of it is left running.
//
//   html            200 text/html login page
//   json            200 application/json API answer
//   random          200 application/octet-stream, 64 KiB of fresh random bytes per request
//   truncated-gzip  200 with the first half of fixtures/profiles/heap-1.pb.gz
//   gzip-bomb       200 with a gzip stream that inflates to BOMB_INFLATED_BYTES (> 256 MiB)
//   endless         200 and chunks forever, until the client goes away
//   hang            raw TCP: accepts and never answers
//   slow            200 and one byte per second (Content-Length 1 MiB)
//   redirect        302 to the same path on 127.0.0.2 (another host), whose
//                   listener records whether anyone ever came
//   reset           200 with Content-Length 1 MiB, 16 KiB of it, then the socket is destroyed
//   not-found       404 "404 page not found" text/plain for everything (a Go mux
//                   without net/http/pprof: no X-Go-Pprof header)

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { createGzip, constants as zlibConstants } from 'node:zlib';
import { ROOT } from './processes.js';
import { closeServer, listenLocal } from './servers.js';

export const HOSTILE_MODES = [
  'html',
  'json',
  'random',
  'truncated-gzip',
  'gzip-bomb',
  'endless',
  'hang',
  'slow',
  'redirect',
  'reset',
  'not-found',
] as const;

export type HostileMode = (typeof HOSTILE_MODES)[number];

const MiB = 1024 * 1024;
/** What the bomb inflates to: past the collector's 256 MiB decompressed cap. */
export const BOMB_INFLATED_BYTES = 320 * MiB;

export const HTML_PAGE = `<!DOCTYPE html>
<html><head><title>Sign in</title></head>
<body><form method="post" action="/login"><input name="user"><input name="password" type="password"><button>Sign in</button></form></body></html>
`;
export const JSON_BODY = `${JSON.stringify({ status: 'ok', service: 'orders-api', version: '1.4.2', uptime_seconds: 1234 })}\n`;

let bombPromise: Promise<Buffer> | null = null;

/**
 * A gzip member that inflates to BOMB_INFLATED_BYTES of zeros, made once per
 * process by streaming 1 MiB zero chunks through createGzip (never holding the
 * inflated size in memory). About 320 KB compressed.
 */
export function gzipBomb(): Promise<Buffer> {
  bombPromise ??= (async () => {
    const gz = createGzip({ level: zlibConstants.Z_BEST_COMPRESSION });
    const out: Buffer[] = [];
    gz.on('data', (c: Buffer) => out.push(c));
    const ended = once(gz, 'end');
    const zero = Buffer.alloc(MiB);
    for (let written = 0; written < BOMB_INFLATED_BYTES; written += zero.length) {
      if (!gz.write(zero)) await once(gz, 'drain');
    }
    gz.end();
    await ended;
    return Buffer.concat(out);
  })();
  return bombPromise;
}

/** The first half of a real gzipped Go heap profile. */
export function truncatedGzipProfile(): Buffer {
  const whole = readFileSync(join(ROOT, 'fixtures', 'profiles', 'heap-1.pb.gz'));
  return whole.subarray(0, Math.floor(whole.length / 2));
}

/**
 * Random bytes that do not start like gzip (0x1f), whitespace, or an HTML/JSON
 * opening, so the collector's description of them is stable: "not a pprof
 * profile (N bytes starting ...)". Fresh on every call, as garbage would be.
 */
export function randomBody(size = 64 * 1024): Buffer {
  const b = randomBytes(size);
  b[0] = 0x80 | (b[0]! & 0x7f);
  return b;
}

export interface HostileServer {
  readonly mode: HostileMode;
  /** Base URL (http://127.0.0.1:PORT), as a target's url. */
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** HTTP requests seen so far (for `hang`: connections). */
  readonly requests: number;
  /** Body bytes handed to sockets so far (endless, slow, reset). */
  readonly bytesWritten: number;
  /** Bodies being written right now (endless, slow): 0 once every client went away. */
  readonly activeStreams: number;
  /** `redirect` only: the other host's listener address, and its connection count. */
  readonly redirectTo?: string;
  readonly redirectTargetContacts: number;
  close(): Promise<void>;
}

export interface HostileOptions {
  /** `slow`: ms between bytes (default 1000). */
  readonly slowByteIntervalMs?: number;
  /** `endless`: chunk size (default 64 KiB). */
  readonly endlessChunkBytes?: number;
  /** `redirect`: the other host (default 127.0.0.2). */
  readonly redirectHost?: string;
}

class Tracker {
  readonly sockets = new Set<Socket>();
  readonly timers = new Set<NodeJS.Timeout>();
  connections = 0;
  requests = 0;
  bytesWritten = 0;
  activeStreams = 0;
  closed = false;

  track(socket: Socket): void {
    this.connections++;
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    // A client that resets (ECONNRESET) must not crash the test process.
    socket.on('error', () => undefined);
  }

  setTimeout(fn: () => void, ms: number): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  setInterval(fn: () => void, ms: number): () => void {
    const t = setInterval(fn, ms);
    this.timers.add(t);
    return () => {
      clearInterval(t);
      this.timers.delete(t);
    };
  }

  shutdown(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}

async function shutdown(server: HttpServer | NetServer, tracker: Tracker): Promise<void> {
  tracker.shutdown();
  await closeServer(server);
}

/** Writes the body forever, respecting back-pressure, until the client goes away. */
function endless(res: ServerResponse, tracker: Tracker, chunkBytes: number): void {
  const chunk = Buffer.alloc(chunkBytes, 0x41);
  let stopped = false;
  tracker.activeStreams++;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    tracker.activeStreams--;
  };
  res.once('close', stop);
  res.socket?.once('close', stop);
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const pump = () => {
    while (!stopped && !tracker.closed && !res.destroyed) {
      tracker.bytesWritten += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    stop();
  };
  pump();
}

function slow(res: ServerResponse, tracker: Tracker, intervalMs: number): void {
  let cancel = () => {};
  let stopped = false;
  tracker.activeStreams++;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    tracker.activeStreams--;
    cancel();
  };
  res.once('close', stop);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(MiB) });
  res.flushHeaders();
  cancel = tracker.setInterval(() => {
    if (res.destroyed || tracker.closed) return stop();
    tracker.bytesWritten++;
    res.write(Buffer.of(0x1f));
  }, intervalMs);
}

function reset(res: ServerResponse, tracker: Tracker): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(MiB) });
  const part = Buffer.alloc(16 * 1024, 0x1f);
  tracker.bytesWritten += part.length;
  res.write(part);
  // Let the headers and the first part reach the client, then cut the connection.
  tracker.setTimeout(() => res.socket?.destroy(), 50);
}

export async function startHostileServer(mode: HostileMode, opts: HostileOptions = {}): Promise<HostileServer> {
  const tracker = new Tracker();

  if (mode === 'hang') {
    const server = createNetServer((socket) => {
      tracker.track(socket);
      tracker.requests++;
      // Read and discard whatever comes; never answer.
      socket.resume();
    });
    const port = await listenLocal(server);
    return view(mode, port, tracker, () => shutdown(server, tracker));
  }

  let redirect: { server: NetServer; tracker: Tracker; host: string; port: number } | null = null;
  if (mode === 'redirect') {
    const rt = new Tracker();
    const other = createNetServer((socket) => {
      rt.track(socket);
      // Whoever comes gets an answer that would look fine, so following the
      // redirect would be visible only here.
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    });
    const host = opts.redirectHost ?? '127.0.0.2';
    const port = await listenLocal(other, host);
    redirect = { server: other, tracker: rt, host, port };
  }

  const bomb = mode === 'gzip-bomb' ? await gzipBomb() : null;
  const truncated = mode === 'truncated-gzip' ? truncatedGzipProfile() : null;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    tracker.requests++;
    req.resume();
    switch (mode) {
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(HTML_PAGE);
        return;
      case 'json':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON_BODY);
        return;
      case 'random':
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(randomBody());
        return;
      case 'truncated-gzip':
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(truncated);
        return;
      case 'gzip-bomb':
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bomb);
        return;
      case 'endless':
        endless(res, tracker, opts.endlessChunkBytes ?? 64 * 1024);
        return;
      case 'slow':
        slow(res, tracker, opts.slowByteIntervalMs ?? 1000);
        return;
      case 'redirect': {
        const location = `http://${redirect!.host}:${redirect!.port}${req.url ?? '/'}`;
        res.writeHead(302, { location, 'content-type': 'text/html; charset=utf-8' }).end(`<a href="${location}">Found</a>.\n`);
        return;
      }
      case 'reset':
        reset(res, tracker);
        return;
      case 'not-found':
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }).end('404 page not found\n');
        return;
    }
  };

  const server = createHttpServer(handle);
  server.on('connection', (s) => tracker.track(s));
  server.on('clientError', (_err, socket) => socket.destroy());
  const port = await listenLocal(server);
  return view(mode, port, tracker, async () => {
    await shutdown(server, tracker);
    if (redirect) await shutdown(redirect.server, redirect.tracker);
  }, redirect ? { tracker: redirect.tracker, to: `${redirect.host}:${redirect.port}` } : undefined);
}

function view(
  mode: HostileMode,
  port: number,
  tracker: Tracker,
  close: () => Promise<void>,
  redirect?: { tracker: Tracker; to: string },
): HostileServer {
  let closing: Promise<void> | null = null;
  return {
    mode,
    url: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return tracker.connections;
    },
    get requests() {
      return tracker.requests;
    },
    get bytesWritten() {
      return tracker.bytesWritten;
    },
    get activeStreams() {
      return tracker.activeStreams;
    },
    ...(redirect ? { redirectTo: redirect.to } : {}),
    get redirectTargetContacts() {
      return redirect?.tracker.connections ?? 0;
    },
    close: () => (closing ??= close()),
  };
}

/** Starts one server per mode; on any failure, closes the ones already started. */
export async function startAllHostileServers(
  modes: readonly HostileMode[] = HOSTILE_MODES,
  opts: HostileOptions = {},
): Promise<Map<HostileMode, HostileServer>> {
  const out = new Map<HostileMode, HostileServer>();
  try {
    for (const m of modes) out.set(m, await startHostileServer(m, opts));
  } catch (err) {
    await Promise.allSettled([...out.values()].map((s) => s.close()));
    throw err;
  }
  return out;
}
