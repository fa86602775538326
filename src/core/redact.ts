// Keeping secrets out of every log line and report: URLs with their
// password and their secret query parameters hidden (redactUrlSecrets: the
// one function every URL shown passes through, and every log line too, see
// log.ts), and the known secret values of a target or output (a backend or
// target may echo what it was sent) replaced before text from a response is
// logged.

import type { OutputAuth } from '../config/types.js';

/** user:password as HTTP basic auth carries it (base64), after "Basic ". */
export function basicCredentials(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64');
}

/**
 * The secrets of an output in every form they travel in: the password and its
 * user:password base64, the bearer token, and custom header values (shown
 * nowhere). Longest first, so a value that contains another is hidden whole.
 */
export function outputSecrets(auth: OutputAuth | undefined, headers: Readonly<Record<string, string>> = {}, url?: string): string[] {
  const out = new Set<string>();
  if (auth?.kind === 'basic') {
    out.add(basicCredentials(auth.username, auth.password));
    out.add(auth.password);
    out.add(encodeURIComponent(auth.password));
  }
  if (auth?.kind === 'bearer') out.add(auth.token);
  // Header values may be API keys; very short ones ("1", "gz") are not, and
  // hiding them would garble every message.
  for (const v of Object.values(headers)) if (v.trim().length >= 4) out.add(v.trim());
  // A token in the URL's query (DataKit's ?token=) is echoed as a value too.
  if (url !== undefined) for (const v of urlSecrets(url)) out.add(v);
  // As a JSON error body would carry them.
  for (const v of [...out]) out.add(JSON.stringify(v).slice(1, -1));
  return [...out].filter((v) => v !== '').sort((a, b) => b.length - a.length);
}

/** Hides every secret in a backend's answer before it can reach a log line (a backend may echo what it was sent). */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let s = text;
  for (const v of secrets) if (s.includes(v)) s = s.split(v).join('[redacted]');
  return s;
}

const HIDDEN = 'xxxxx';

/** Query parameter names that carry a secret, whole (lower case). */
const SECRET_PARAMS = new Set(['token', 'access_token', 'key', 'api_key', 'apikey', 'password', 'passwd', 'pass', 'pwd', 'secret', 'sig', 'signature', 'auth', 'authorization', 'credential', 'credentials']);
/** ... or as the last word of a longer name: X-Amz-Signature, X-Amz-Security-Token, client_secret, private_key. */
const SECRET_PARAM_SUFFIX = /[-_.](?:token|key|apikey|password|passwd|secret|sig|signature|auth|credential)$/;

/** Whether a query parameter (as written, maybe %-encoded) carries a secret. */
export function isSecretParam(name: string): boolean {
  let n = name;
  if (n.includes('%')) {
    try {
      n = decodeURIComponent(n);
    } catch {
      /* as written */
    }
  }
  n = n.toLowerCase();
  return SECRET_PARAMS.has(n) || SECRET_PARAM_SUFFIX.test(n);
}

// A parameter after ? & ; or # (a fragment may carry one: #access_token=),
// in a URL or in text around one: the value ends at a separator, space or
// quote, less punctuation of the text around it ("?sig=abc: answered 401").
const PARAM = /([?&;#])([^=&;#?\s"'<>]+)=([^&;#\s"'<>]*?)(?=[:,.)]*(?:[&;#\s"'<>]|$))/g;
// scheme://user:password@ ; the password ends at @ (a literal @ or / in it is %-escaped).
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/[^\s/@:"'<>]*):[^\s/@"'<>]*@/gi;

/**
 * Hides the password of user:password@ and the values of secret query
 * parameters (token, key, sig, X-Amz-Signature, ...) in a URL, or in any text
 * holding URLs (an error message, a log line). The one function every URL
 * shown (logs, --check, /targets, --once) passes through.
 */
export function redactUrlSecrets(text: string): string {
  if (!text.includes('=') && !text.includes('@')) return text;
  return text
    .replace(USERINFO, `$1:${HIDDEN}@`)
    .replace(PARAM, (all, sep: string, name: string, value: string) => (value !== '' && isSecretParam(name) ? `${sep}${name}=${HIDDEN}` : all));
}

/** The URL as written, with any password and secret query parameter hidden: for logs, --check and status pages. */
export function redactedUrl(url: string): string {
  return redactUrlSecrets(url);
}

/** The secret values a URL carries (password, secret query parameters), as written and decoded: a backend may echo them. */
export function urlSecrets(url: string): string[] {
  const out = new Set<string>();
  const add = (v: string) => {
    if (v === '') return;
    out.add(v);
    try {
      out.add(decodeURIComponent(v.replace(/\+/g, ' ')));
    } catch {
      /* as written only */
    }
  };
  const ui = /^[a-z][a-z0-9+.-]*:\/\/[^/@:]*:([^/@]*)@/i.exec(url);
  if (ui) add(ui[1]!);
  for (const m of url.matchAll(PARAM)) if (isSecretParam(m[2]!)) add(m[3]!);
  return [...out].filter((v) => v !== '').sort((a, b) => b.length - a.length);
}
