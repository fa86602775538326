// One HTTP GET of a pprof endpoint, with an exact deadline, a cap on the body,
// and Go's error contract turned into named errors. No retries here: a
// struggling target is not hammered; the next scheduled scrape is the retry.

import { request, type Dispatcher } from 'undici';
import { LIMITS } from '../core/limits.js';
import { readCapped } from '../core/body.js';
import { USER_AGENT } from '../core/version.js';
import { redactedUrl, redactUrlSecrets } from '../core/redact.js';
import { deadlineSignal } from '../core/deadline.js';

export type ScrapeErrorCode =
  | 'timeout'
  | 'network'
  | 'tls'
  | 'redirect'
  | 'not_found'
  | 'cpu_in_use'
  | 'write_timeout'
  | 'http_status'
  | 'body_too_large'
  | 'aborted';

export class ScrapeError extends Error {
  override name = 'ScrapeError';

  constructor(
    readonly code: ScrapeErrorCode,
    message: string,
    readonly status?: number,
    /** The start of the error body (Go's text/plain message), for logs. */
    readonly bodySnippet?: string,
    /** The response came from net/http/pprof (header X-Go-Pprof). */
    readonly fromGoPprof = false,
  ) {
    super(message);
  }
}

export interface HttpScrapeRequest {
  readonly url: string;
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts the request early (shutdown). */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

export interface HttpScrapeResponse {
  readonly body: Buffer;
  readonly contentType?: string;
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
}


function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function describeNetworkError(err: Error, isHttps: boolean): { code: ScrapeErrorCode; text: string } {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const c = e.cause ?? e;
  const code = c.code ?? e.code ?? '';
  if (code === 'ECONNREFUSED') return { code: 'network', text: 'connection refused: is the service running and listening on this port?' };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { code: 'network', text: `host not found (${code})` };
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') {
    // Under TLS 1.3 a server that wants a client certificate and gets none
    // just closes the connection: say so rather than only "reset".
    return {
      code: 'network',
      text: isHttps
        ? 'the target closed the connection without an answer: if it requires a client certificate, set tls_cert and tls_key (and tls_open = true)'
        : 'the connection was reset by the target',
    };
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return { code: 'network', text: `host unreachable (${code})` };
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/i.test(code) || /certificate|tls|ssl/i.test(c.message ?? '')) {
    return { code: 'tls', text: `TLS handshake failed: ${c.message || code}` };
  }
  return { code: 'network', text: `${c.message || e.message}${code ? ` (${code})` : ''}` };
}

export async function httpScrape(req: HttpScrapeRequest): Promise<HttpScrapeResponse> {
  const now = req.now ?? Date.now;
  const startedAtMs = now();
  const deadline = deadlineSignal(req.timeoutMs, req.signal);
  const signal = deadline.signal;
  // Every message below starts with it and may reach a log line or /targets.
  const what = `GET ${redactedUrl(req.url)}`;
  const timedOut = () => deadline.timedOut() && !(req.signal?.aborted ?? false);
  try {
    const res = await request(req.url, {
      method: 'GET',
      dispatcher: req.dispatcher,
      signal,
      headers: { 'user-agent': USER_AGENT, accept: 'application/octet-stream', ...req.headers },
      // Backstops only: the AbortSignal above is the exact deadline.
      headersTimeout: req.timeoutMs + 1000,
      bodyTimeout: req.timeoutMs + 1000,
    });
    const contentType = header(res.headers, 'content-type');
    if (res.statusCode === 200) {
      const body = await readCapped(res.body, req.maxBodyBytes, false);
      if (body === null) {
        throw new ScrapeError(
          'body_too_large',
          `${what}: the response is larger than ${Math.round(req.maxBodyBytes / 1048576)} MiB; refused (raise body_size_limit_mb if this profile is really that large)`,
          200,
        );
      }
      return { body, ...(contentType ? { contentType } : {}), startedAtMs, finishedAtMs: now() };
    }
    const snippetBuf = await readCapped(res.body, LIMITS.errorBodySnippetBytes, true).catch(() => Buffer.alloc(0));
    const snippet = (snippetBuf ?? Buffer.alloc(0)).toString('utf8').trim();
    const fromGo = header(res.headers, 'x-go-pprof') === '1';
    const status = res.statusCode;
    if (status >= 300 && status < 400) {
      // A redirect may point at a presigned URL (X-Amz-Signature=...) or a login page with a token.
      const location = redactUrlSecrets(header(res.headers, 'location') ?? '(no Location header)');
      throw new ScrapeError('redirect', `${what}: answered ${status} redirect to ${location}; redirects are not followed: set url to the final address`, status, snippet, fromGo);
    }
    if (status === 500 && /cpu profiling already in use/i.test(snippet)) {
      throw new ScrapeError(
        'cpu_in_use',
        `${what}: 500 "${snippet}": another CPU profiler runs in this process (dd-trace-go, a Pyroscope agent, or a second collector); this window is skipped`,
        status,
        snippet,
        fromGo,
      );
    }
    if (status === 400 && /exceeds server's WriteTimeout/i.test(snippet)) {
      throw new ScrapeError('write_timeout', `${what}: 400 "${snippet}"`, status, snippet, fromGo);
    }
    if (status === 404) {
      throw new ScrapeError('not_found', `${what}: 404 Not Found${snippet ? ` "${snippet.slice(0, 200)}"` : ''}`, status, snippet, fromGo);
    }
    throw new ScrapeError('http_status', `${what}: answered ${status}${snippet ? ` "${snippet.slice(0, 200)}"` : ''}`, status, snippet, fromGo);
  } catch (err) {
    if (err instanceof ScrapeError) throw err;
    if (timedOut()) {
      throw new ScrapeError('timeout', `${what}: no complete response within http_timeout (${req.timeoutMs / 1000}s)`);
    }
    if (req.signal?.aborted) throw new ScrapeError('aborted', `${what}: abandoned (collector shutting down)`);
    const { code, text } = describeNetworkError(err as Error, req.url.startsWith('https:'));
    throw new ScrapeError(code, `${what}: ${text}`);
  } finally {
    deadline.dispose();
  }
}
