// A stand-in for the Kubernetes API server's pod endpoints, on loopback
// (node:http, or node:https with a client certificate optionally demanded):
//
//   GET /api/v1/pods and /api/v1/namespaces/{ns}/pods: a PodList of the pods
//     it holds (starting from the recorded test/fixtures/kubernetes/pod-list.json),
//     filtered by labelSelector and fieldSelector (kube-selectors.ts: parsed as
//     strictly as the real server, a bad one is a 400), paged by limit /
//     continue as the real server does: every page of one list comes from the
//     snapshot the first page was cut from, a continue token outlives neither
//     a compaction (`expire()`) nor a change of selectors, and an expired one
//     is a 410 "Expired";
//   the same with ?watch=1&resourceVersion=RV: newline-delimited JSON watch
//     events. Events newer than RV are replayed from its history, then the
//     test pushes more with add / modify / remove. A RV older than the
//     compacted history gets an ERROR event with code 410 ("too old resource
//     version"), like the real server; `expire()` compacts the history and
//     sends that to the open watches. A watch with selectors sees a change as
//     the real server sends it: a pod that starts matching is ADDED, one that
//     stops matching is DELETED. `endWatches()` ends the streams cleanly
//     (as the server's timeoutSeconds does), `dropWatches()` cuts them.
//
// Every request is recorded (path, query, Authorization header, client
// certificate). `acceptAuthorization` makes it answer 401 to anything else;
// `failNext` queues error answers.

import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseFieldSelector, parseLabelSelector, SelectorError, type Matcher } from './kube-selectors.js';

export type PodJson = {
  metadata: { name: string; namespace: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
};

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly authorization?: string;
  /** The client certificate's CN, when one was presented and verified. */
  readonly clientCert?: string;
  readonly watch: boolean;
}

export interface FakeKubeApiOptions {
  /** The pods it starts with; default: the recorded list. */
  readonly pods?: readonly PodJson[];
  /** Its resourceVersion to start from; default: the recorded list's. */
  readonly resourceVersion?: number;
  /** Serve https with this key and certificate; with `ca` and requestCert, demand a client certificate signed by it. */
  readonly tls?: { readonly key: Buffer; readonly cert: Buffer; readonly ca?: Buffer; readonly requestCert?: boolean };
  /** Answer 401 unless the Authorization header is one of these. */
  readonly acceptAuthorization?: readonly string[];
  /** Write each event in two pieces (tests that lines are put back together). */
  readonly splitEvents?: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEntry {
  readonly rv: number;
  readonly type: WatchEventType;
  readonly pod: PodJson;
  /** The pod before this change (MODIFIED, DELETED). */
  readonly prev?: PodJson;
}

/** The pods one list request asked for: namespace and selectors. */
interface ListScope {
  readonly namespace?: string;
  readonly labelSelector: string;
  readonly fieldSelector: string;
}

/** A list cut into pages: every page of it comes from here. */
interface ListSnapshot extends ListScope {
  readonly rv: number;
  readonly items: PodJson[];
}

interface OpenWatch {
  readonly namespace?: string;
  readonly matches: Matcher;
  readonly res: ServerResponse;
  readonly socket: Socket;
  timer?: NodeJS.Timeout;
  /** With splitEvents: pieces still to write, one per event-loop turn; null ends the stream. */
  readonly outbox: Array<string | null>;
}

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'kubernetes', 'pod-list.json');

/** The recorded PodList (a fresh copy each call). */
export function recordedPodList(): { metadata: { resourceVersion: string }; items: PodJson[] } {
  return JSON.parse(readFileSync(FIXTURE, 'utf8')) as { metadata: { resourceVersion: string }; items: PodJson[] };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** What the real server says to a continue token older than the compacted history. */
const CONTINUE_EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class FakeKubeApi {
  readonly requests: RecordedRequest[] = [];
  /** Error answers for the next requests: status and, optionally, only for watches, lists, or list pages after the first (continue). */
  readonly failNext: Array<{ status: number; kind?: 'list' | 'watch' | 'continue'; message?: string }> = [];
  /** List pages served (each list request that answered 200). */
  pagesServed = 0;
  /** Called before each list page is answered (a test can change pods between pages). */
  beforePage?: (query: Readonly<Record<string, string>>) => void;
  private readonly snapshots = new Map<number, ListSnapshot>();
  private nextSnapshot = 1;
  private readonly pods = new Map<string, PodJson>();
  private readonly history: HistoryEntry[] = [];
  private readonly watches = new Set<OpenWatch>();
  private readonly sockets = new Set<Socket>();
  private rv: number;
  /** Watches from a version below this get 410. */
  private compactedBelow = 0;
  private server!: Server;
  private scheme = 'http';

  private constructor(private readonly opts: FakeKubeApiOptions) {
    const recorded = recordedPodList();
    this.rv = opts.resourceVersion ?? Number(recorded.metadata.resourceVersion);
    for (const p of opts.pods ?? recorded.items) this.pods.set(`${p.metadata.namespace}/${p.metadata.name}`, clone(p));
  }

  static async start(opts: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
    const api = new FakeKubeApi(opts);
    const handler = (req: IncomingMessage, res: ServerResponse) => api.handle(req, res);
    if (opts.tls) {
      api.scheme = 'https';
      api.server = createHttpsServer(
        { key: opts.tls.key, cert: opts.tls.cert, ...(opts.tls.ca ? { ca: opts.tls.ca } : {}), requestCert: opts.tls.requestCert ?? false, rejectUnauthorized: opts.tls.requestCert ?? false },
        handler,
      );
    } else api.server = createHttpServer(handler);
    api.server.on(opts.tls ? 'secureConnection' : 'connection', (s: Socket) => {
      api.sockets.add(s);
      s.once('close', () => api.sockets.delete(s));
    });
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    return api;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  get openWatches(): number {
    return this.watches.size;
  }

  lists(): RecordedRequest[] {
    return this.requests.filter((r) => !r.watch);
  }

  watchRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.watch);
  }

  /** A pod it holds now (a copy). */
  pod(namespace: string, name: string): PodJson | undefined {
    const p = this.pods.get(`${namespace}/${name}`);
    return p ? clone(p) : undefined;
  }

  add(pod: PodJson): void {
    this.change('ADDED', pod);
  }

  modify(pod: PodJson): void {
    this.change('MODIFIED', pod);
  }

  remove(namespace: string, name: string): void {
    const p = this.pods.get(`${namespace}/${name}`);
    if (!p) throw new Error(`no pod ${namespace}/${name}`);
    this.change('DELETED', p);
  }

  /** A BOOKMARK event to the open watches (the current version, no change). */
  bookmark(): void {
    for (const w of this.watches) this.send(w, { type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } } });
  }

  /** Forgets the history up to now: open watches get ERROR 410 and end, and so will watches from older versions. */
  expire(): void {
    this.compactedBelow = this.rv + 1;
    this.history.length = 0;
    // Continue tokens name versions that are gone now.
    this.snapshots.clear();
    for (const w of [...this.watches]) {
      this.send(w, { type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${this.rv - 1} (${this.rv})`) });
      this.finish(w);
    }
  }

  /** Ends every watch cleanly (the terminating chunk), as the server's timeout does. */
  endWatches(): void {
    for (const w of [...this.watches]) this.finish(w);
  }

  /** Cuts every watch connection mid-stream. */
  dropWatches(): void {
    for (const w of [...this.watches]) {
      this.watches.delete(w);
      clearTimeout(w.timer);
      w.socket.destroy();
    }
  }

  async close(): Promise<void> {
    for (const w of this.watches) clearTimeout(w.timer);
    this.watches.clear();
    for (const s of this.sockets) s.destroy();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private change(type: WatchEventType, pod: PodJson): void {
    this.rv++;
    const p = clone(pod);
    p.metadata.resourceVersion = String(this.rv);
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    const prev = this.pods.get(key);
    if (type === 'DELETED') this.pods.delete(key);
    else this.pods.set(key, p);
    const entry: HistoryEntry = { rv: this.rv, type, pod: p, ...(prev ? { prev } : {}) };
    this.history.push(entry);
    for (const w of this.watches) this.sendEntry(w, entry);
  }

  /** A change as a watch with selectors sees it (the real server's filtered watch), or nothing. */
  private sendEntry(w: OpenWatch, e: HistoryEntry): void {
    const sees = (p: PodJson | undefined) => p !== undefined && (w.namespace === undefined || w.namespace === p.metadata.namespace) && w.matches(p);
    const before = e.type !== 'ADDED' && sees(e.prev);
    const after = e.type !== 'DELETED' && sees(e.pod);
    const type: WatchEventType | undefined = before && after ? 'MODIFIED' : after ? 'ADDED' : before ? 'DELETED' : undefined;
    if (type) this.send(w, { type, object: { kind: 'Pod', apiVersion: 'v1', ...e.pod } });
  }

  private send(w: OpenWatch, event: unknown): void {
    const line = `${JSON.stringify(event)}\n`;
    if (!this.opts.splitEvents) {
      w.res.write(line);
      return;
    }
    const half = Math.floor(line.length / 2);
    this.queue(w, line.slice(0, half), line.slice(half));
  }

  /** Writes pieces in order, one per event-loop turn, so the client sees them apart. */
  private queue(w: OpenWatch, ...pieces: Array<string | null>): void {
    const idle = w.outbox.length === 0;
    w.outbox.push(...pieces);
    if (!idle) return;
    const pump = () => {
      const piece = w.outbox.shift();
      if (piece === undefined || w.res.writableEnded || w.res.destroyed) return;
      if (piece === null) w.res.end();
      else w.res.write(piece);
      if (w.outbox.length > 0) setImmediate(pump);
    };
    pump();
  }

  private finish(w: OpenWatch): void {
    this.watches.delete(w);
    clearTimeout(w.timer);
    this.queue(w, null);
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(u.searchParams);
    const watch = query.watch === '1' || query.watch === 'true';
    const tlsSocket = req.socket as TLSSocket;
    const cn = typeof tlsSocket.getPeerCertificate === 'function' && tlsSocket.authorized ? tlsSocket.getPeerCertificate().subject?.CN : undefined;
    this.requests.push({
      method: req.method ?? 'GET',
      path: u.pathname,
      query,
      ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}),
      ...(cn ? { clientCert: Array.isArray(cn) ? cn.join(',') : cn } : {}),
      watch,
    });
    if (this.opts.acceptAuthorization && !this.opts.acceptAuthorization.includes(req.headers.authorization ?? '')) {
      return this.json(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    const m = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?pods$/.exec(u.pathname);
    if (req.method !== 'GET' || !m) return this.json(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const namespace = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
    const kind = watch ? 'watch' : query.continue ? 'continue' : 'list';
    const failAt = this.failNext.findIndex((f) => f.kind === undefined || f.kind === kind || (f.kind === 'list' && kind === 'continue'));
    if (failAt >= 0) {
      const f = this.failNext.splice(failAt, 1)[0]!;
      if (f.status === 410 && kind === 'continue') return this.json(res, 410, status(410, 'Expired', f.message ?? CONTINUE_EXPIRED));
      return this.json(res, f.status, status(f.status, 'InternalError', f.message ?? `injected ${f.status}`));
    }
    let matches: Matcher;
    try {
      const byLabel = parseLabelSelector(query.labelSelector ?? '');
      const byField = parseFieldSelector(query.fieldSelector ?? '');
      matches = (p) => byLabel(p) && byField(p);
    } catch (err) {
      if (!(err instanceof SelectorError)) throw err;
      return this.json(res, 400, status(400, 'BadRequest', err.message));
    }
    const scope: ListScope = { ...(namespace !== undefined ? { namespace } : {}), labelSelector: query.labelSelector ?? '', fieldSelector: query.fieldSelector ?? '' };
    if (watch) return this.startWatch(req, res, scope, matches, query);
    this.list(res, scope, matches, query);
  }

  private list(res: ServerResponse, scope: ListScope, matches: Matcher, query: Record<string, string>): void {
    this.beforePage?.(query);
    const limit = query.limit !== undefined ? Number(query.limit) : 0;
    if (!Number.isInteger(limit) || limit < 0) return this.json(res, 400, status(400, 'BadRequest', `invalid limit "${query.limit}"`));
    let snap: ListSnapshot;
    let offset = 0;
    let id = 0;
    if (query.continue) {
      let c: { id: number; offset: number };
      try {
        c = JSON.parse(Buffer.from(query.continue, 'base64url').toString('utf8')) as { id: number; offset: number };
      } catch {
        return this.json(res, 400, status(400, 'BadRequest', 'continue key is not valid'));
      }
      const found = this.snapshots.get(c.id);
      if (!found) return this.json(res, 410, status(410, 'Expired', CONTINUE_EXPIRED));
      // The continue token is only good for the list it came from.
      if (found.namespace !== scope.namespace || found.labelSelector !== scope.labelSelector || found.fieldSelector !== scope.fieldSelector) {
        return this.json(res, 400, status(400, 'BadRequest', 'the continue token was issued for another list (namespace or selectors differ)'));
      }
      snap = found;
      offset = c.offset;
      id = c.id;
    } else {
      const items = [...this.pods.entries()]
        .filter(([, p]) => (scope.namespace === undefined || p.metadata.namespace === scope.namespace) && matches(p))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, p]) => p);
      snap = { ...scope, rv: this.rv, items };
    }
    const end = limit > 0 ? Math.min(snap.items.length, offset + limit) : snap.items.length;
    let next: string | undefined;
    if (end < snap.items.length) {
      if (id === 0) {
        id = this.nextSnapshot++;
        this.snapshots.set(id, snap);
      }
      next = Buffer.from(JSON.stringify({ id, offset: end })).toString('base64url');
    } else if (id !== 0) this.snapshots.delete(id);
    this.pagesServed++;
    this.json(res, 200, {
      kind: 'PodList',
      apiVersion: 'v1',
      metadata: { resourceVersion: String(snap.rv), ...(next ? { continue: next, remainingItemCount: snap.items.length - end } : {}) },
      items: snap.items.slice(offset, end),
    });
  }

  private startWatch(req: IncomingMessage, res: ServerResponse, scope: ListScope, matches: Matcher, query: Record<string, string>): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const namespace = scope.namespace;
    const w: OpenWatch = { ...(namespace !== undefined ? { namespace } : {}), matches, res, socket: req.socket, outbox: [] };
    const from = Number(query.resourceVersion ?? '0');
    if (from < this.compactedBelow - 1 || Number.isNaN(from)) {
      this.send(w, { type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${query.resourceVersion} (${this.rv})`) });
      this.queue(w, null);
      return;
    }
    this.watches.add(w);
    res.once('close', () => {
      this.watches.delete(w);
      clearTimeout(w.timer);
    });
    for (const e of this.history) if (e.rv > from) this.sendEntry(w, e);
    const timeout = Number(query.timeoutSeconds ?? 0);
    if (timeout > 0) w.timer = setTimeout(() => this.finish(w), timeout * 1000);
  }
}

export interface PodSpecOptions {
  readonly name: string;
  readonly namespace?: string;
  readonly ip?: string;
  readonly phase?: string;
  readonly node?: string;
  readonly annotations?: Record<string, string>;
  readonly labels?: Record<string, string>;
  readonly generateName?: string;
  readonly ports?: ReadonlyArray<{ name?: string; containerPort: number }>;
}

/** A pod in the shape the API returns, for events the test pushes. */
export function makePod(o: PodSpecOptions): PodJson {
  const phase = o.phase ?? 'Running';
  return {
    metadata: {
      name: o.name,
      namespace: o.namespace ?? 'default',
      ...(o.generateName ? { generateName: o.generateName } : {}),
      uid: `00000000-0000-4000-8000-${Buffer.from(o.name).toString('hex').padEnd(12, '0').slice(0, 12)}`,
      creationTimestamp: '2024-05-14T10:00:00Z',
      labels: o.labels ?? {},
      annotations: o.annotations ?? {},
    },
    spec: {
      containers: [{ name: 'app', image: 'registry.example.com/app:1.0.0', ports: (o.ports ?? []).map((p) => ({ ...p, protocol: 'TCP' })) }],
      restartPolicy: 'Always',
      ...(o.node !== undefined ? { nodeName: o.node } : { nodeName: 'node-a' }),
    },
    status: {
      phase,
      ...(o.ip ? { podIP: o.ip, podIPs: [{ ip: o.ip }] } : {}),
      hostIP: '172.18.0.3',
      startTime: '2024-05-14T10:00:01Z',
    },
  };
}
