// Requests to the API server: the connection resolved on first use (and
// again after it failed), its credentials, and the answers that are not
// 200 as errors that say what to do. A token file is re-read every minute:
// projected service account tokens rotate.

import { request, type Agent, type Dispatcher } from 'undici';
import { readCapped } from '../../core/body.js';
import type { Clock } from '../../core/clock.js';
import { createAgent } from '../../core/dispatcher.js';
import type { Logger } from '../../core/log.js';
import { basicCredentials, redactedUrl } from '../../core/redact.js';
import { USER_AGENT } from '../../core/version.js';
import { KubeConfigError, resolveConnection, type KubeConnection, type KubeHost, type KubernetesSdConfig } from './client.js';
import { isObj } from './json.js';

export const TOKEN_REFRESH_MS = 60_000;

const HEADERS_TIMEOUT_MS = 30_000;
const LIST_BODY_TIMEOUT_MS = 60_000;

export class GoneError extends Error {
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

/** The API server as the provider uses it: GET with the connection's TLS and credentials. */
export class KubeApi {
  private conn: KubeConnection | null = null;
  private dispatcher: Agent | null = null;
  private token: string | undefined;
  private tokenReadAt = -Infinity;

  constructor(
    private readonly cfg: KubernetesSdConfig,
    private readonly host: KubeHost,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** The provider's, for log lines. */
    private readonly description: string,
    /** Aborts every request (the provider stops). */
    private readonly signal: AbortSignal,
    /** How often a token file is re-read. */
    private readonly tokenRefreshMs: number,
  ) {}

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
    if (conn.tokenFile !== undefined && this.clock.now() - this.tokenReadAt >= (this.tokenRefreshMs)) {
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

  async get(path: string, query: Record<string, string>, watch: boolean): Promise<Dispatcher.ResponseData> {
    const { conn, dispatcher } = this.connection();
    const auth = this.authorization(conn);
    const qs = new URLSearchParams(query).toString();
    const timeoutS = Number(query.timeoutSeconds ?? 0);
    const res = await request(`${conn.server}${path}${qs ? `?${qs}` : ''}`, {
      dispatcher,
      method: 'GET',
      signal: this.signal,
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

  /** Closes the connections. */
  async close(): Promise<void> {
    const d = this.dispatcher;
    this.dispatcher = null;
    if (d) await d.destroy().catch(() => undefined);
  }
}
