// How kubernetes_sd reaches the API server: api_server (with
// bearer_token_file and tls_ca / insecure_skip_verify), else a kubeconfig
// file (its current context), else in-cluster (the pod's service account).

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { DiscoveryConfig } from '../../config/types.js';
import { isObj, type Obj, str } from './json.js';

export type KubernetesSdConfig = Extract<DiscoveryConfig, { kind: 'kubernetes_sd' }>;

export const IN_CLUSTER_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';
export const IN_CLUSTER_CA_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
/** The namespace of the pod's service account (own_namespace). */
export const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

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

/** The named entry of a kubeconfig list (clusters, contexts, users): its inner object. */
export function named(doc: Obj, list: string, inner: string, name: string, file: string): Obj {
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

