// The kubernetes_sd provider. It lists pods (all namespaces, or each
// configured one and its own), with the label and field selectors (by
// default Running pods only), page by page (list.ts), then watches from the
// list's resourceVersion with the same selectors, applying ADDED / MODIFIED
// / DELETED events (a pod that stops matching comes as DELETED). A watch the
// server ends (its timeout) is resumed from the last version seen; a 410
// Gone (history compacted), a dropped stream or a failed request re-lists,
// after a backoff of 1 s doubling to 30 s. Each change reports the complete
// list of target groups.

import { readFileSync } from 'node:fs';
import { sleep, type Clock } from '../../core/clock.js';
import { LIMITS } from '../../core/limits.js';
import type { Logger } from '../../core/log.js';
import { redactedUrl } from '../../core/redact.js';
import { changesOnly, type DiscoveryProvider, type TargetGroup } from '../types.js';
import { GoneError, KubeApi, TOKEN_REFRESH_MS } from './api.js';
import { IN_CLUSTER_NAMESPACE_FILE, type KubeHost, type KubernetesSdConfig } from './client.js';
import { isObj, str } from './json.js';
import { listPods, nextTurn } from './list.js';
import { podTargets } from './pods.js';

const BACKOFF_INITIAL_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** A watch that lasted this long without an event still counts as healthy. */
const HEALTHY_WATCH_MS = 10_000;

/** One page of a pod list larger than this is refused. */
const MAX_LIST_BYTES = 64 * 1024 * 1024;
/** Pods handled between two turns of the event loop while listing. */
const PODS_PER_TURN = 100;
/** One watch event (one pod) larger than this ends the watch. */
const MAX_EVENT_BYTES = 8 * 1024 * 1024;

export interface KubernetesSdOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => Buffer;
  /** How often a token file is re-read (default 60 s). */
  readonly tokenRefreshMs?: number;
  /** The watch timeout asked of the server; default 5 to 10 minutes, at random. */
  readonly watchTimeoutSeconds?: number;
  /** Pods per list page (default LIMITS.kubernetesListPageSize). */
  readonly pageSize?: number;
  /** Pods handled between two turns of the event loop while listing (default 100). */
  readonly podsPerTurn?: number;
  /** Gives the event loop a turn while listing (default: setImmediate); tests count them. */
  readonly yieldTurn?: () => Promise<void>;
}

/** One list-and-watch: all namespaces, or one. */
interface Scope {
  readonly path: string;
  /** undefined: all namespaces. */
  readonly namespace?: string;
  readonly label: string;
  /** labelSelector and fieldSelector, on the list and the watch alike. */
  readonly query: Readonly<Record<string, string>>;
  /** Groups of the pods that have any, by namespace/name. */
  pods: Map<string, TargetGroup[]>;
  resourceVersion: string;
  failures: number;
  lastError: string;
}

type WatchEnd = 'gone' | 'ended' | 'dropped';

export function backoffMs(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** Math.max(0, Math.min(failures - 1, 16)));
}

export class KubernetesSd implements DiscoveryProvider {
  readonly description: string;
  private readonly api: KubeApi;
  private scopes: Scope[] = [];
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly problemsSaid = new Map<string, string>();
  private readonly host: KubeHost;
  private readonly selectors: Record<string, string>;
  private stopped = false;
  private send: (groups: readonly TargetGroup[]) => void = () => undefined;

  constructor(
    private readonly cfg: KubernetesSdConfig,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: KubernetesSdOptions = {},
  ) {
    this.host = { env: opts.env ?? process.env, readFile: opts.readFile ?? ((p) => readFileSync(p)) };
    const where = cfg.apiServer !== undefined ? redactedUrl(cfg.apiServer) : cfg.kubeconfig !== undefined ? `kubeconfig ${cfg.kubeconfig}` : 'in-cluster';
    const named = [...cfg.namespaces, ...(cfg.ownNamespace ? ['its own'] : [])];
    const ns = named.length === 0 ? 'all namespaces' : `namespace${named.length > 1 ? 's' : ''} ${named.join(', ')}`;
    const fieldSelector = cfg.fieldSelector ?? LIMITS.kubernetesFieldSelector;
    this.selectors = { ...(cfg.labelSelector ? { labelSelector: cfg.labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) };
    const sel = Object.values(this.selectors);
    this.description = `kubernetes_sd pods in ${ns}${sel.length ? ` matching ${sel.join(' and ')}` : ''} (${where})`;
    this.api = new KubeApi(cfg, this.host, clock, log, this.description, this.abort.signal, opts.tokenRefreshMs ?? TOKEN_REFRESH_MS);
  }

  /** The namespaces to list: the configured ones and, with own_namespace, the collector's own; none: all. */
  private namespaces(): string[] | 'all' {
    const out = [...this.cfg.namespaces];
    if (this.cfg.ownNamespace) {
      try {
        const own = this.host.readFile(IN_CLUSTER_NAMESPACE_FILE).toString('utf8').trim();
        if (own === '') throw new Error('the file is empty');
        out.push(own);
      } catch (err) {
        // Never all namespaces instead: the config asked for a few.
        this.log.error(
          { discovery: this.description, file: IN_CLUSTER_NAMESPACE_FILE },
          `kubernetes_sd: own_namespace: cannot read the collector's namespace from ${IN_CLUSTER_NAMESPACE_FILE} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); it only works in a pod: list the namespace in namespaces instead`,
        );
      }
    }
    if (out.length === 0) return this.cfg.ownNamespace ? [] : 'all';
    return [...new Set(out)];
  }

  start(update: (groups: readonly TargetGroup[]) => void): void {
    this.send = changesOnly(update);
    const mk = (path: string, label: string, namespace?: string): Scope => ({
      path,
      label,
      ...(namespace !== undefined ? { namespace } : {}),
      query: this.selectors,
      pods: new Map(),
      resourceVersion: '',
      failures: 0,
      lastError: '',
    });
    const ns = this.namespaces();
    this.scopes = ns === 'all' ? [mk('/api/v1/pods', 'all namespaces')] : ns.map((n) => mk(`/api/v1/namespaces/${encodeURIComponent(n)}/pods`, `namespace ${n}`, n));
    for (const s of this.scopes) this.loops.push(this.run(s));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await Promise.allSettled(this.loops);
    await this.api.close();
  }

  /** Lists every pod of the scope (page by page) and replaces its set. */
  private async list(s: Scope): Promise<void> {
    let pods = new Map<string, TargetGroup[]>();
    let seen = new Set<string>();
    const r = await listPods(
      this.api,
      s.path,
      s.query,
      () => {
        // A fresh start (again after an expired continue): nothing of before counts.
        pods = new Map();
        seen = new Set();
        return (pod) => {
          const a = this.apply(pods, pod);
          if (a) seen.add(a.key);
        };
      },
      {
        pageSize: this.opts.pageSize ?? LIMITS.kubernetesListPageSize,
        maxPageBytes: MAX_LIST_BYTES,
        podsPerTurn: this.opts.podsPerTurn ?? PODS_PER_TURN,
        yieldTurn: this.opts.yieldTurn ?? nextTurn,
        onRestart: (why) => this.log.info({ discovery: this.description, err: { message: why } }, `kubernetes_sd (${s.label}): the continue token of a later page expired (${why.split('.')[0]}); listing again from the first page`),
      },
    );
    // Pods gone while nobody watched take their warnings with them.
    for (const k of this.problemsSaid.keys()) {
      if (!seen.has(k) && (s.namespace === undefined || k.startsWith(`${s.namespace}/`))) this.problemsSaid.delete(k);
    }
    s.pods = pods;
    s.resourceVersion = r.resourceVersion;
    this.log.debug(
      { discovery: this.description, pods: r.pods, pages: r.pages, restarts: r.restarts, annotated: pods.size, resource_version: r.resourceVersion },
      `kubernetes_sd: listed ${r.pods} pod(s) in ${s.label} (${r.pages} page(s)), ${pods.size} to profile`,
    );
  }

  /** Puts a pod's groups into `pods` (or takes it out); its key, and whether its groups changed. */
  private apply(pods: Map<string, TargetGroup[]>, pod: unknown, deleted = false): { key: string; changed: boolean } | undefined {
    if (!isObj(pod) || !isObj(pod.metadata)) return undefined;
    const key = `${str(pod.metadata, 'namespace') ?? ''}/${str(pod.metadata, 'name') ?? ''}`;
    const before = pods.get(key);
    if (deleted) {
      this.problemsSaid.delete(key);
      return { key, changed: pods.delete(key) };
    }
    const { groups, problems } = podTargets(pod);
    const said = problems.join('; ');
    if (said && this.problemsSaid.get(key) !== said) {
      this.log.warn({ discovery: this.description, pod: key, problems }, `kubernetes_sd: pod ${key}: ${said}`);
    }
    if (said) this.problemsSaid.set(key, said);
    else this.problemsSaid.delete(key);
    if (groups.length === 0) return { key, changed: pods.delete(key) };
    pods.set(key, groups);
    return { key, changed: before === undefined || JSON.stringify(before) !== JSON.stringify(groups) };
  }

  /** Sends the complete list when it differs from the last one sent. */
  private publish(): void {
    if (this.stopped) return;
    const groups: TargetGroup[] = [];
    const seen = new Set<string>();
    for (const s of this.scopes) {
      for (const key of [...s.pods.keys()].sort()) {
        if (seen.has(key)) continue; // namespaces listed twice
        seen.add(key);
        groups.push(...s.pods.get(key)!);
      }
    }
    this.send(groups);
  }

  /** Watches from the scope's resourceVersion until the stream ends. */
  private async watch(s: Scope): Promise<WatchEnd> {
    const timeout = this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    const res = await this.api.get(s.path, { ...s.query, watch: '1', resourceVersion: s.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeout) }, true);
    const started = this.clock.now();
    const decoder = new TextDecoder();
    let pending = '';
    let events = 0;
    try {
      for await (const chunk of res.body) {
        pending += decoder.decode(chunk as Buffer, { stream: true });
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line === '') continue;
          const end = this.event(s, line);
          if (end) {
            res.body.destroy();
            return end;
          }
          events++;
          if (events === 1 && s.failures > 0) this.recovered(s);
        }
        if (pending.length > MAX_EVENT_BYTES) throw new Error(`a watch event is larger than ${MAX_EVENT_BYTES / 1048576} MiB`);
      }
    } catch (err) {
      if (this.stopped) return 'ended';
      this.failed(s, `the watch stream broke: ${(err as Error).message}`);
      return 'dropped';
    }
    // The server ended it (its timeoutSeconds): resume from the last version.
    // One that ends at once, again and again, backs off like a failure.
    if (events === 0 && this.clock.now() - started < HEALTHY_WATCH_MS) {
      s.failures++;
      this.log.debug({ discovery: this.description }, `kubernetes_sd: the watch of ${s.label} ended at once`);
    } else if (s.failures > 0) this.recovered(s);
    return 'ended';
  }

  /** Applies one watch event; returns how the watch ends, or undefined to go on. */
  private event(s: Scope, line: string): WatchEnd | undefined {
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      throw new Error('a watch event is not JSON');
    }
    if (!isObj(ev) || typeof ev.type !== 'string') throw new Error('a watch event has no type');
    const obj = ev.object;
    if (ev.type === 'ERROR') {
      const code = isObj(obj) ? obj.code : undefined;
      const message = isObj(obj) && typeof obj.message === 'string' ? obj.message : 'no message';
      if (code === 410) {
        this.log.info({ discovery: this.description }, `kubernetes_sd: watch of ${s.label} expired (${message}); listing again`);
        s.failures++;
        return 'gone';
      }
      this.failed(s, `the watch reported an error ${String(code)}: ${message}`);
      return 'dropped';
    }
    if (isObj(obj) && isObj(obj.metadata)) {
      const rv = str(obj.metadata, 'resourceVersion');
      if (rv) s.resourceVersion = rv;
    }
    if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED') {
      if (this.apply(s.pods, obj, ev.type === 'DELETED')?.changed) this.publish();
    }
    return undefined;
  }

  private failed(s: Scope, msg: string): void {
    s.failures++;
    if (msg !== s.lastError) this.log.warn({ discovery: this.description, err: { message: msg } }, `kubernetes_sd (${s.label}): ${msg}; keeping the last targets, retrying`);
    s.lastError = msg;
  }

  private recovered(s: Scope): void {
    if (s.lastError) this.log.info({ discovery: this.description }, `kubernetes_sd (${s.label}): the API server answers again`);
    s.lastError = '';
    s.failures = 0;
  }

  private async run(s: Scope): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.list(s);
          needList = false;
          this.publish();
        }
        const end = await this.watch(s);
        if (end === 'gone' || end === 'dropped') needList = true;
      } catch (err) {
        if (this.stopped) break;
        needList = true;
        if (err instanceof GoneError) {
          s.failures++;
          this.log.info({ discovery: this.description }, `kubernetes_sd (${s.label}): ${err.message}; listing again`);
        } else this.failed(s, (err as Error).message);
      }
      if (s.failures > 0 && !this.stopped) await sleep(this.clock, backoffMs(s.failures), this.abort.signal);
    }
  }
}
