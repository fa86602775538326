// Keeping secrets out of every log line and report: URLs with their
// password hidden, and the known secret values of a target or output (a
// backend or target may echo what it was sent) replaced before text from a
// response is logged.

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
export function outputSecrets(auth: OutputAuth | undefined, headers: Readonly<Record<string, string>> = {}): string[] {
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

/** The URL as written, with any password replaced: for logs and --check. */
export function redactedUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, '$1:xxxxx@');
}
