// One POST of an output, with the rules every network output shares: an
// exact deadline, the collector's shutdown signal, a network failure as a
// retryable DeliveryError, and only the start of an answer read, cleaned of
// the output's secrets (a backend may echo them) before anyone logs it.

import { request, type Dispatcher } from 'undici';
import { LIMITS } from '../core/limits.js';
import type { OutputAuth } from '../config/types.js';
import { basicCredentials, redactSecrets } from '../core/redact.js';
import { readCapped } from '../core/body.js';
import { networkDeliveryError } from './retry.js';

export interface PostResult {
  readonly status: number;
  /** The start of the body, secrets hidden ('' for a 2xx: never read). */
  readonly text: string;
  readonly retryAfter?: string;
}

export interface PostOptions {
  readonly dispatcher: Dispatcher;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** What the request is, for messages ("POST http://... (heap of checkout)"). */
  readonly what: string;
  readonly secrets: readonly string[];
}

export async function postProfile(url: string, o: PostOptions): Promise<PostResult> {
  const deadline = AbortSignal.timeout(o.timeoutMs);
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, { method: 'POST', dispatcher: o.dispatcher, signal: AbortSignal.any([deadline, o.signal]), headers: o.headers, body: o.body });
  } catch (err) {
    throw networkDeliveryError(o.what, err, deadline.aborted);
  }
  if (res.statusCode >= 200 && res.statusCode < 300) {
    await res.body.dump().catch(() => undefined);
    return { status: res.statusCode, text: '' };
  }
  // Only an error body is worth reading, and only its start.
  const raw = (await readCapped(res.body, LIMITS.errorBodySnippetBytes, true).catch(() => null))?.toString('utf8') ?? '';
  const ra = res.headers['retry-after'];
  const retryAfter = Array.isArray(ra) ? ra[0] : ra;
  return { status: res.statusCode, text: redactSecrets(raw, o.secrets), ...(retryAfter !== undefined ? { retryAfter } : {}) };
}

/** The Authorization header of output credentials (never logged). */
export function authorizationHeader(auth: OutputAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if (auth.kind === 'bearer') return { authorization: `Bearer ${auth.token}` };
  return { authorization: `Basic ${basicCredentials(auth.username, auth.password)}` };
}
