// http(s) URLs in the config: targets, discovery endpoints and outputs.

import { redactUrlSecrets } from '../../core/redact.js';
import { Ctx } from './readers.js';

export interface ParsedUrl {
  readonly baseUrl: string;
  readonly isHttps: boolean;
  readonly basicAuth?: { username: string; password: string };
}

/** http(s) URL; for targets the path, if any, is the pprof prefix. */
export function parseHttpUrl(ctx: Ctx, raw: string, keyPath: string, defaultPath: string | null): ParsedUrl | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    ctx.error(keyPath, `"${redactUrlText(raw)}" is not a URL; write it like "http://127.0.0.1:6060"`);
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    ctx.error(keyPath, `scheme must be http or https, got "${u.protocol.replace(/:$/, '')}"`);
    return undefined;
  }
  if (u.hostname === '') {
    ctx.error(keyPath, 'has no host');
    return undefined;
  }
  if (u.hash !== '') ctx.error(keyPath, 'must not have a #fragment');
  if (defaultPath !== null && u.search !== '') {
    ctx.error(keyPath, 'must not have a query string: the collector adds the query of each profile request itself');
  }
  let pathname = u.pathname.replace(/\/+$/, '');
  if (defaultPath !== null && pathname === '') pathname = defaultPath;
  const base = `${u.protocol}//${u.host}${pathname}${defaultPath === null ? u.search : ''}`;
  const out: ParsedUrl = { baseUrl: base, isHttps: u.protocol === 'https:' };
  if (u.username !== '' || u.password !== '') {
    try {
      return { ...out, basicAuth: { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } };
    } catch {
      // URL keeps "%zz" as written; decoding it throws URIError. Never echo the credentials.
      ctx.error(keyPath, 'user:password has a "%" that is not a %XX escape (write a literal % as %25)');
      return undefined;
    }
  }
  return out;
}

/** Hides the password of a URL-looking string that did not parse. */
function redactUrlText(s: string): string {
  return redactUrlSecrets(s.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:xxxxx@'));
}
