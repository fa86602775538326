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
import { deadlineSignal, type Deadline } from '../core/deadline.js';

export interface PostResult {
  readonly status: number;
  /** The start of the body, secrets hidden ('' for a 2xx: never read). */
  readonly text: string;
  readonly retryAfter?: string;
  /** The start of the body as bytes, unredacted (parse it, then redact what is shown): non-2xx, or 2xx with readOkBody. */
  readonly body?: Buffer;
  readonly contentType?: string;
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
  /** Read the start of a 2xx body too (OTLP answers partial success in it). */
  readonly readOkBody?: boolean;
}

export async function postProfile(url: string, o: PostOptions): Promise<PostResult> {
  const deadline = deadlineSignal(o.timeoutMs, o.signal);
  try {
    return await post(url, o, deadline);
  } finally {
    deadline.dispose();
  }
}

async function post(url: string, o: PostOptions, deadline: Deadline): Promise<PostResult> {
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, { method: 'POST', dispatcher: o.dispatcher, signal: deadline.signal, headers: o.headers, body: o.body });
  } catch (err) {
    throw networkDeliveryError(o.what, err, deadline.timedOut());
  }
  const ct = res.headers['content-type'];
  const contentType = Array.isArray(ct) ? ct[0] : ct;
  if (res.statusCode >= 200 && res.statusCode < 300) {
    if (!o.readOkBody) {
      await res.body.dump().catch(() => undefined);
      return { status: res.statusCode, text: '' };
    }
    const ok = (await readCapped(res.body, LIMITS.errorBodySnippetBytes, true).catch(() => null)) ?? Buffer.alloc(0);
    return { status: res.statusCode, text: '', body: ok, ...(contentType !== undefined ? { contentType } : {}) };
  }
  // Only an error body is worth reading, and only its start.
  const bytes = (await readCapped(res.body, LIMITS.errorBodySnippetBytes, true).catch(() => null)) ?? Buffer.alloc(0);
  const ra = res.headers['retry-after'];
  const retryAfter = Array.isArray(ra) ? ra[0] : ra;
  return {
    status: res.statusCode,
    text: redactSecrets(bytes.toString('utf8'), o.secrets),
    body: bytes,
    ...(contentType !== undefined ? { contentType } : {}),
    ...(retryAfter !== undefined ? { retryAfter } : {}),
  };
}

/** The Authorization header of output credentials (never logged). */
export function authorizationHeader(auth: OutputAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if (auth.kind === 'bearer') return { authorization: `Bearer ${auth.token}` };
  return { authorization: `Basic ${basicCredentials(auth.username, auth.password)}` };
}
