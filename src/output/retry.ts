// The retry rules of every output, in one place.
//   retry:   network errors, timeouts, 408, 429 (honouring Retry-After), 5xx
//   drop:    any other 4xx (the body says why; logged and counted)
// Backoff is exponential with jitter, from 0.5 s doubling to 5 min.

import { LIMITS } from '../core/limits.js';

/** A send that did not succeed; `retryable` decides between waiting and dropping. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';

  constructor(
    message: string,
    readonly retryable: boolean,
    readonly opts: { readonly status?: number; readonly retryAfterMs?: number; readonly body?: string; readonly code?: string } = {},
  ) {
    super(message);
  }
}

export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  /** [0, 1) source; Math.random by default, fixed in tests. */
  readonly random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? LIMITS.retryInitialMs;
    this.maxMs = opts.maxMs ?? LIMITS.retryMaxMs;
    this.random = opts.random ?? Math.random;
  }

  /** Delay before retry number `attempt` (1-based): half fixed, half jitter. */
  delayMs(attempt: number): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
    return base / 2 + this.random() * (base / 2);
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** A DeliveryError for an HTTP answer that is not 2xx. */
export function httpDeliveryError(what: string, status: number, body: string, retryAfter: string | undefined, nowMs: number): DeliveryError {
  const retryable = isRetryableStatus(status);
  const retryAfterMs = parseRetryAfter(retryAfter, nowMs);
  const snippet = body.length > LIMITS.errorBodySnippetBytes ? `${body.slice(0, LIMITS.errorBodySnippetBytes)}...` : body;
  return new DeliveryError(`${what}: answered ${status}${snippet ? `: ${snippet.trim()}` : ''}`, retryable, {
    status,
    body: snippet,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

/** Network-level failures (refused, reset, timeout) are always worth a retry. */
export function networkDeliveryError(what: string, err: unknown, timedOut: boolean): DeliveryError {
  if (timedOut) return new DeliveryError(`${what}: timed out`, true, { code: 'timeout' });
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const c = e?.cause ?? e;
  const code = c?.code ?? e?.code;
  return new DeliveryError(`${what}: ${c?.message ?? String(err)}${code ? ` (${code})` : ''}`, true, { ...(code ? { code } : {}) });
}
