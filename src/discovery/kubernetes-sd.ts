// kubernetes_sd: pods from the Kubernetes API, opted in by the annotations
// Pyroscope and Grafana Alloy use, so pods annotated for them are found as
// they are:
//
//   profiles.grafana.com/cpu.scrape: "true"      (also memory, goroutine, mutex, block;
//   profiles.grafana.com/cpu.port: "6060"         heap is accepted as memory's alias)
//   profiles.grafana.com/cpu.port_name: "pprof"   (a container port's name; .port takes a name too)
//   profiles.grafana.com/cpu.path: "/debug/pprof" (the pprof prefix)
//   profiles.grafana.com/cpu.scheme: "https"
//   profiles.grafana.com/service_name: "checkout"
//
// Only pods that are Running, have an IP and are not being deleted count.
// The types of a pod with the same scheme, port and path form one target
// group; its `__types__` label ("cpu,heap") limits the block's enabled_types
// to them (see template.ts). Labels: service (the annotation, else the pod
// label app.kubernetes.io/name, else app, else the pod name less its hash),
// namespace, pod, node.
//
// Connection: api_server (with bearer_token_file and tls_ca / insecure_skip_verify),
// else a kubeconfig file (its current context), else in-cluster (the pod's
// service account). A token file is re-read every minute: projected service
// account tokens rotate.
//
// It lists pods (all namespaces, or each configured one), then watches from
// the list's resourceVersion, applying ADDED / MODIFIED / DELETED events.
// A watch the server ends (its timeout) is resumed from the last version
// seen; a 410 Gone (history compacted), a dropped stream or a failed request
// re-lists, after a backoff of 1 s doubling to 30 s. Each change reports the
// complete list of target groups.

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { request, type Agent, type Dispatcher } from 'undici';
import { parse as parseYaml } from 'yaml';
import type { DiscoveryConfig } from '../config/types.js';
import { createAgent } from '../core/dispatcher.js';
import type { Logger } from '../core/log.js';
import { PROFILE_TYPE_NAMES, type ProfileTypeName } from '../profile/types.js';
import { basicCredentials, redactedUrl } from '../core/redact.js';
import { USER_AGENT } from '../core/version.js';
import { sleep, type Clock } from '../core/clock.js';
import { readCapped } from '../core/body.js';
import { changesOnly, type DiscoveryProvider, type TargetGroup } from './types.js';

export type KubernetesSdConfig = Extract<DiscoveryConfig, { kind: 'kubernetes_sd' }>;

export const IN_CLUSTER_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';
export const IN_CLUSTER_CA_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';

export const ANNOTATION_PREFIX = 'profiles.grafana.com/';
export const SERVICE_NAME_ANNOTATION = 'profiles.grafana.com/service_name';

/** Annotation names per profile type, first preferred (Pyroscope calls heap "memory"). */
const ANNOTATION_NAMES: Readonly<Record<ProfileTypeName, readonly string[]>> = {
  cpu: ['cpu'],
  heap: ['memory', 'heap'],
  goroutine: ['goroutine'],
  mutex: ['mutex'],
  block: ['block'],
};

/**
 * Endpoint names of each type: Pyroscope's `.path` is the whole path of one
 * type ("/debug/pprof/heap"); ours is the prefix, so such a last segment is
 * taken off.
 */
const ENDPOINT_NAMES: Readonly<Record<ProfileTypeName, readonly string[]>> = {
  cpu: ['profile'],
  heap: ['heap', 'allocs'],
  goroutine: ['goroutine'],
  mutex: ['mutex', 'delta_mutex'],
  block: ['block', 'delta_block'],
};

const BACKOFF_INITIAL_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** A watch that lasted this long without an event still counts as healthy. */
const HEALTHY_WATCH_MS = 10_000;
const TOKEN_REFRESH_MS = 60_000;
const LIST_PAGE_SIZE = 500;
/** One page of a pod list larger than this is refused. */
const MAX_LIST_BYTES = 64 * 1024 * 1024;
/** One watch event (one pod) larger than this ends the watch. */
const MAX_EVENT_BYTES = 8 * 1024 * 1024;
const HEADERS_TIMEOUT_MS = 30_000;
const LIST_BODY_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------
// Connection

export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}

/** How to reach the API server, with what credentials. */
export interface KubeConnection {
  /** Origin plus any path prefix (a proxy's), no trailing slash. */
  readonly server: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly insecureSkipVerify: boolean;
  /** The name the server certificate is checked against, when not the URL's host. */
  readonly serverName?: string;
  readonly token?: string;
  /** Re-read periodically; used instead of `token` once read. */
  readonly tokenFile?: string;
  readonly basicAuth?: { readonly username: string; readonly password: string };
  /** Where these settings came from, for logs. */
  readonly source: string;
}

export interface KubeHost {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads a whole file (sync); throws as fs.readFileSync does. */
  readonly readFile: (path: string) => Buffer;
}

const defaultHost: KubeHost = { env: process.env, readFile: (p) => readFileSync(p) };

function readNamed(host: KubeHost, path: string, what: string): Buffer {
  try {
    return host.readFile(path);
  } catch (err) {
    throw new KubeConfigError(`cannot read ${what} "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function checkServerUrl(server: string, where: string): string {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw new KubeConfigError(`${where}: "${server}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new KubeConfigError(`${where}: "${server}" must be an http or https URL`);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

/** Settings from api_server, a kubeconfig file, or the pod's service account, in that order. */
export function resolveConnection(cfg: KubernetesSdConfig, host: KubeHost = defaultHost): KubeConnection {
  if (cfg.apiServer !== undefined) {
    const tls = cfg.tls;
    return {
      server: checkServerUrl(cfg.apiServer, 'api_server'),
      ...(tls?.caFile ? { ca: readNamed(host, tls.caFile, 'tls_ca') } : {}),
      ...(tls?.certFile ? { cert: readNamed(host, tls.certFile, 'tls_cert') } : {}),
      ...(tls?.keyFile ? { key: readNamed(host, tls.keyFile, 'tls_key') } : {}),
      insecureSkipVerify: tls?.insecureSkipVerify ?? false,
      ...(cfg.bearerTokenFile !== undefined ? { tokenFile: cfg.bearerTokenFile } : {}),
      source: 'api_server',
    };
  }
  if (cfg.kubeconfig !== undefined) {
    const text = readNamed(host, cfg.kubeconfig, 'kubeconfig').toString('utf8');
    return parseKubeconfig(text, cfg.kubeconfig, host);
  }
  const h = host.env.KUBERNETES_SERVICE_HOST;
  const port = host.env.KUBERNETES_SERVICE_PORT || '443';
  if (!h) {
    throw new KubeConfigError(
      'not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set): set api_server or kubeconfig in [inputs.profile.go.kubernetes_sd]',
    );
  }
  return {
    server: `https://${h.includes(':') ? `[${h}]` : h}:${port}`,
    ca: readNamed(host, IN_CLUSTER_CA_FILE, 'the service account CA'),
    insecureSkipVerify: false,
    tokenFile: IN_CLUSTER_TOKEN_FILE,
    source: 'in-cluster service account',
  };
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Obj, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The named entry of a kubeconfig list (clusters, contexts, users): its inner object. */
function named(doc: Obj, list: string, inner: string, name: string, file: string): Obj {
  const arr = doc[list];
  const entry = Array.isArray(arr) ? arr.find((e) => isObj(e) && e.name === name) : undefined;
  if (!isObj(entry)) throw new KubeConfigError(`kubeconfig ${file}: no ${list.replace(/s$/, '')} named "${name}"`);
  const v = entry[inner];
  return isObj(v) ? v : {};
}

/** The connection of a kubeconfig's current context. Relative paths are relative to the file. */
export function parseKubeconfig(text: string, file: string, host: KubeHost = defaultHost): KubeConnection {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new KubeConfigError(`kubeconfig ${file}: not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isObj(doc)) throw new KubeConfigError(`kubeconfig ${file}: expected a mapping (apiVersion: v1, kind: Config)`);
  let contextName = str(doc, 'current-context');
  if (!contextName) {
    const contexts = Array.isArray(doc.contexts) ? doc.contexts.filter(isObj) : [];
    if (contexts.length === 1 && typeof contexts[0]!.name === 'string') contextName = contexts[0]!.name;
    else throw new KubeConfigError(`kubeconfig ${file}: no current-context set`);
  }
  const context = named(doc, 'contexts', 'context', contextName, file);
  const clusterName = str(context, 'cluster');
  if (!clusterName) throw new KubeConfigError(`kubeconfig ${file}: context "${contextName}" names no cluster`);
  const cluster = named(doc, 'clusters', 'cluster', clusterName, file);
  const userName = str(context, 'user');
  const user = userName ? named(doc, 'users', 'user', userName, file) : {};
  const where = `kubeconfig ${file} (context "${contextName}")`;

  const rel = (p: string) => (isAbsolute(p) ? p : join(dirname(file), p));
  const b64 = (o: Obj, k: string): Buffer | undefined => {
    const v = str(o, k);
    if (v === undefined) return undefined;
    const buf = Buffer.from(v.replace(/\s+/g, ''), 'base64');
    if (buf.length === 0) throw new KubeConfigError(`${where}: ${k} is not base64`);
    return buf;
  };
  const pem = (o: Obj, dataKey: string, fileKey: string): Buffer | undefined => {
    const data = b64(o, dataKey);
    if (data) return data;
    const f = str(o, fileKey);
    return f === undefined ? undefined : readNamed(host, rel(f), `${fileKey} of ${where}`);
  };

  const server = str(cluster, 'server');
  if (!server) throw new KubeConfigError(`${where}: cluster "${clusterName}" has no server`);
  const ca = pem(cluster, 'certificate-authority-data', 'certificate-authority');
  const cert = pem(user, 'client-certificate-data', 'client-certificate');
  const key = pem(user, 'client-key-data', 'client-key');
  if ((cert === undefined) !== (key === undefined)) throw new KubeConfigError(`${where}: user "${userName}" has a client certificate without its key, or a key without its certificate`);
  const token = str(user, 'token');
  const tokenFile = str(user, 'tokenFile') ?? str(user, 'token-file');
  const username = str(user, 'username');
  const password = typeof user.password === 'string' ? user.password : undefined;
  if (!token && !tokenFile && !cert && !username && (user.exec !== undefined || user['auth-provider'] !== undefined)) {
    throw new KubeConfigError(
      `${where}: user "${userName}" authenticates with an ${user.exec !== undefined ? 'exec' : 'auth-provider'} plugin, which this collector does not run; give it a token, a tokenFile or a client certificate`,
    );
  }
  const skip = cluster['insecure-skip-tls-verify'];
  return {
    server: checkServerUrl(server, where),
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    insecureSkipVerify: skip === true || skip === 'true',
    ...(str(cluster, 'tls-server-name') ? { serverName: str(cluster, 'tls-server-name')! } : {}),
    // client-go prefers a literal token over the file.
    ...(token ? { token } : tokenFile ? { tokenFile: rel(tokenFile) } : {}),
    ...(!token && !tokenFile && username ? { basicAuth: { username, password: password ?? '' } } : {}),
    source: where,
  };
}

// ---------------------------------------------------------------------------
// Pods to target groups

export interface PodTargets {
  readonly groups: TargetGroup[];
  /** Why an enabled type could not be used (bad or missing port). */
  readonly problems: string[];
}

const NONE: PodTargets = { groups: [], problems: [] };

function annotationOf(annotations: Obj, names: readonly string[], suffix: string): string | undefined {
  for (const n of names) {
    const v = annotations[`${ANNOTATION_PREFIX}${n}.${suffix}`];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return undefined;
}

interface ContainerPort {
  readonly name?: string;
  readonly port: number;
}

function containerPorts(spec: Obj): ContainerPort[] {
  const out: ContainerPort[] = [];
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  for (const c of containers) {
    if (!isObj(c) || !Array.isArray(c.ports)) continue;
    for (const p of c.ports) {
      if (!isObj(p) || typeof p.containerPort !== 'number') continue;
      if (p.protocol !== undefined && p.protocol !== 'TCP') continue;
      out.push({ ...(typeof p.name === 'string' ? { name: p.name } : {}), port: p.containerPort });
    }
  }
  return out;
}

/** The service a pod is: its owner's name, from generateName less a Deployment's pod-template-hash. */
export function podServiceName(name: string, generateName: string | undefined, labels: Obj): string {
  const hash = typeof labels['pod-template-hash'] === 'string' ? labels['pod-template-hash'] : undefined;
  let base: string;
  if (generateName) base = generateName.replace(/-$/, '');
  else {
    base = name.replace(/-[a-z0-9]{5}$/, '');
    if (base === name) base = name.replace(/-\d+$/, ''); // a StatefulSet ordinal
  }
  if (hash && base.endsWith(`-${hash}`)) base = base.slice(0, -(hash.length + 1));
  else if (!hash && generateName === undefined) base = base.replace(/-[a-f0-9]{8,10}$/, '');
  return base || name;
}

function normalizePath(raw: string, type: ProfileTypeName): string {
  let p = `/${raw.replace(/^\/+/, '')}`.replace(/\/+$/, '');
  const last = p.slice(p.lastIndexOf('/') + 1);
  if (ENDPOINT_NAMES[type].includes(last) && p.lastIndexOf('/') > 0) p = p.slice(0, p.lastIndexOf('/'));
  return p === '' ? '/' : p;
}

/**
 * The target groups of one pod (a Pod object as the API returns it): none
 * unless it is Running, has an IP, is not being deleted, and enables a type.
 * Types with the same scheme, port and path share one group.
 */
export function podTargets(pod: unknown): PodTargets {
  if (!isObj(pod) || !isObj(pod.metadata)) return NONE;
  const meta = pod.metadata;
  const annotations = isObj(meta.annotations) ? meta.annotations : {};
  if (!Object.keys(annotations).some((k) => k.startsWith(ANNOTATION_PREFIX))) return NONE;
  const status = isObj(pod.status) ? pod.status : {};
  const spec = isObj(pod.spec) ? pod.spec : {};
  const ip = str(status, 'podIP');
  if (status.phase !== 'Running' || !ip || meta.deletionTimestamp) return NONE;
  const name = str(meta, 'name') ?? '';
  const namespace = str(meta, 'namespace') ?? 'default';
  const labels = isObj(meta.labels) ? meta.labels : {};

  const problems: string[] = [];
  const byEndpoint = new Map<string, { host: string; scheme?: string; path?: string; types: ProfileTypeName[] }>();
  let ports: ContainerPort[] | undefined;
  for (const type of PROFILE_TYPE_NAMES) {
    const names = ANNOTATION_NAMES[type];
    const enabledAs = names.find((n) => String(annotations[`${ANNOTATION_PREFIX}${n}.scrape`] ?? '').trim().toLowerCase() === 'true');
    if (enabledAs === undefined) continue;
    const own = [enabledAs, ...names.filter((n) => n !== enabledAs)];
    const portText = annotationOf(annotations, own, 'port') ?? annotationOf(annotations, own, 'port_name');
    ports ??= containerPorts(spec);
    let port: number | undefined;
    if (portText === undefined) {
      if (ports.length === 1) port = ports[0]!.port;
      else {
        problems.push(`${type}: set ${ANNOTATION_PREFIX}${enabledAs}.port (the pod declares ${ports.length === 0 ? 'no container port' : `${ports.length} container ports`})`);
        continue;
      }
    } else if (/^\d+$/.test(portText)) {
      port = Number(portText);
      if (port < 1 || port > 65535) {
        problems.push(`${type}: port "${portText}" is out of range`);
        continue;
      }
    } else {
      port = ports.find((p) => p.name === portText)?.port;
      if (port === undefined) {
        problems.push(`${type}: no container port is named "${portText}"`);
        continue;
      }
    }
    const rawScheme = annotationOf(annotations, own, 'scheme')?.toLowerCase();
    const scheme = rawScheme === 'http' || rawScheme === 'https' ? rawScheme : undefined;
    if (rawScheme !== undefined && scheme === undefined) problems.push(`${type}: scheme "${rawScheme}" is not http or https; using http`);
    const rawPath = annotationOf(annotations, own, 'path');
    const path = rawPath === undefined ? undefined : normalizePath(rawPath, type);
    const host = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
    const key = `${scheme ?? 'http'}|${host}|${path ?? ''}`;
    let e = byEndpoint.get(key);
    if (!e) byEndpoint.set(key, (e = { host, ...(scheme ? { scheme } : {}), ...(path !== undefined ? { path } : {}), types: [] }));
    e.types.push(type);
  }
  const annotatedService = annotations[SERVICE_NAME_ANNOTATION];
  const service =
    (typeof annotatedService === 'string' && annotatedService.trim()) ||
    (typeof labels['app.kubernetes.io/name'] === 'string' && labels['app.kubernetes.io/name']) ||
    (typeof labels.app === 'string' && labels.app) ||
    podServiceName(name, str(meta, 'generateName'), labels);
  const node = str(spec, 'nodeName');
  const groups: TargetGroup[] = [...byEndpoint.values()].map((e) => ({
    targets: [e.host],
    labels: {
      __types__: e.types.join(','),
      ...(e.scheme ? { __scheme__: e.scheme } : {}),
      ...(e.path !== undefined ? { __pprof_path__: e.path } : {}),
      service,
      namespace,
      pod: name,
      ...(node ? { node } : {}),
    },
  }));
  return { groups, problems };
}

// ---------------------------------------------------------------------------
// The provider

export interface KubernetesSdOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => Buffer;
  /** How often a token file is re-read (default 60 s). */
  readonly tokenRefreshMs?: number;
  /** The watch timeout asked of the server; default 5 to 10 minutes, at random. */
  readonly watchTimeoutSeconds?: number;
  /** Pods per list page (default 500). */
  readonly pageSize?: number;
}

/** One list-and-watch: all namespaces, or one. */
interface Scope {
  readonly path: string;
  /** undefined: all namespaces. */
  readonly namespace?: string;
  readonly label: string;
  /** Groups of the pods that have any, by namespace/name. */
  pods: Map<string, TargetGroup[]>;
  resourceVersion: string;
  failures: number;
  lastError: string;
}

class GoneError extends Error {
  override name = 'GoneError';
}

class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

type WatchEnd = 'gone' | 'ended' | 'dropped';

export function backoffMs(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** Math.max(0, Math.min(failures - 1, 16)));
}

export class KubernetesSd implements DiscoveryProvider {
  readonly description: string;
  private readonly host: KubeHost;
  private readonly scopes: Scope[];
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly problemsSaid = new Map<string, string>();
  private conn: KubeConnection | null = null;
  private dispatcher: Agent | null = null;
  private token: string | undefined;
  private tokenReadAt = -Infinity;
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
    const ns = cfg.namespaces.length === 0 ? 'all namespaces' : `namespace${cfg.namespaces.length > 1 ? 's' : ''} ${cfg.namespaces.join(', ')}`;
    this.description = `kubernetes_sd pods in ${ns} (${where})`;
    const mk = (path: string, label: string, namespace?: string): Scope => ({
      path,
      label,
      ...(namespace !== undefined ? { namespace } : {}),
      pods: new Map(),
      resourceVersion: '',
      failures: 0,
      lastError: '',
    });
    this.scopes =
      cfg.namespaces.length === 0
        ? [mk('/api/v1/pods', 'all namespaces')]
        : [...new Set(cfg.namespaces)].map((n) => mk(`/api/v1/namespaces/${encodeURIComponent(n)}/pods`, `namespace ${n}`, n));
  }

  start(update: (groups: readonly TargetGroup[]) => void): void {
    this.send = changesOnly(update);
    for (const s of this.scopes) this.loops.push(this.run(s));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await Promise.allSettled(this.loops);
    const d = this.dispatcher;
    this.dispatcher = null;
    if (d) await d.destroy().catch(() => undefined);
  }

  /** The connection, resolved on first use (and again after it failed). */
  private connection(): { conn: KubeConnection; dispatcher: Agent } {
    if (!this.conn || !this.dispatcher) {
      const conn = resolveConnection(this.cfg, this.host);
      this.conn = conn;
      this.dispatcher = createAgent({ keepAliveTimeout: 60_000 }, conn);
      this.log.info({ discovery: this.description, api_server: redactedUrl(conn.server) }, `kubernetes_sd: API server ${redactedUrl(conn.server)} from ${conn.source}`);
    }
    return { conn: this.conn, dispatcher: this.dispatcher };
  }

  private authorization(conn: KubeConnection): string | undefined {
    if (conn.tokenFile !== undefined && this.clock.now() - this.tokenReadAt >= (this.opts.tokenRefreshMs ?? TOKEN_REFRESH_MS)) {
      try {
        const t = this.host.readFile(conn.tokenFile).toString('utf8').trim();
        if (t === '') throw new Error('the file is empty');
        this.token = t;
        this.tokenReadAt = this.clock.now();
      } catch (err) {
        const msg = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        if (this.token === undefined) throw new KubeConfigError(`cannot read the bearer token file "${conn.tokenFile}": ${msg}`);
        this.log.warn({ discovery: this.description, file: conn.tokenFile }, `kubernetes_sd: cannot re-read the token file ${conn.tokenFile} (${msg}); using the token read before`);
      }
    }
    if (conn.tokenFile !== undefined && this.token !== undefined) return `Bearer ${this.token}`;
    if (conn.token !== undefined) return `Bearer ${conn.token}`;
    if (conn.basicAuth) return `Basic ${basicCredentials(conn.basicAuth.username, conn.basicAuth.password)}`;
    return undefined;
  }

  private async get(path: string, query: Record<string, string>, watch: boolean): Promise<Dispatcher.ResponseData> {
    const { conn, dispatcher } = this.connection();
    const auth = this.authorization(conn);
    const qs = new URLSearchParams(query).toString();
    const timeoutS = Number(query.timeoutSeconds ?? 0);
    const res = await request(`${conn.server}${path}${qs ? `?${qs}` : ''}`, {
      dispatcher,
      method: 'GET',
      signal: this.abort.signal,
      headersTimeout: HEADERS_TIMEOUT_MS,
      // A watch may be quiet for long; the server ends it after timeoutSeconds.
      bodyTimeout: watch ? (timeoutS + 60) * 1000 : LIST_BODY_TIMEOUT_MS,
      headers: { accept: 'application/json', 'user-agent': USER_AGENT, ...(auth ? { authorization: auth } : {}) },
    });
    if (res.statusCode === 200) return res;
    const body = await readCapped(res.body, 4096, true).catch(() => null);
    let reason = '';
    try {
      const st = JSON.parse(body?.toString('utf8') ?? '') as unknown;
      if (isObj(st) && typeof st.message === 'string') reason = `: ${st.message}`;
    } catch {
      /* not a Status */
    }
    const hint = res.statusCode === 401 ? ' (check the token or client certificate)' : res.statusCode === 403 ? ' (the account needs RBAC get, list and watch on pods)' : '';
    const msg = `GET ${path} answered ${res.statusCode}${reason}${hint}`;
    if (res.statusCode === 410) throw new GoneError(msg);
    throw new HttpStatusError(msg, res.statusCode);
  }

  /** Lists every pod of the scope (page by page) and replaces its set. */
  private async list(s: Scope): Promise<void> {
    const pods = new Map<string, TargetGroup[]>();
    const seen = new Set<string>();
    let cont = '';
    let rv = '';
    let total = 0;
    for (let page = 0; page < 100_000; page++) {
      const res = await this.get(s.path, { limit: String(this.opts.pageSize ?? LIST_PAGE_SIZE), ...(cont ? { continue: cont } : {}) }, false);
      const body = await readCapped(res.body, MAX_LIST_BYTES);
      if (body === null) throw new Error(`a page of the pod list is larger than ${MAX_LIST_BYTES / 1048576} MiB`);
      const doc = JSON.parse(body.toString('utf8')) as unknown;
      if (!isObj(doc) || !Array.isArray(doc.items) || !isObj(doc.metadata)) throw new Error(`GET ${s.path}: not a PodList`);
      for (const pod of doc.items) {
        total++;
        const r = this.apply(pods, pod);
        if (r) seen.add(r.key);
      }
      rv = str(doc.metadata, 'resourceVersion') ?? rv;
      cont = str(doc.metadata, 'continue') ?? '';
      if (!cont) break;
    }
    if (!rv) throw new Error(`GET ${s.path}: the list has no resourceVersion`);
    // Pods gone while nobody watched take their warnings with them.
    for (const k of this.problemsSaid.keys()) {
      if (!seen.has(k) && (s.namespace === undefined || k.startsWith(`${s.namespace}/`))) this.problemsSaid.delete(k);
    }
    s.pods = pods;
    s.resourceVersion = rv;
    this.log.debug({ discovery: this.description, pods: total, annotated: pods.size, resource_version: rv }, `kubernetes_sd: listed ${total} pod(s) in ${s.label}, ${pods.size} to profile`);
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
    const res = await this.get(s.path, { watch: '1', resourceVersion: s.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeout) }, true);
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
