// [agent.web]: TLS and authentication of the status server, the way
// Prometheus's web config does it (tls_cert/tls_key, basic_auth_users with
// bcrypt hashes), plus a bearer token. Files are read now, so --check reports
// a missing or mismatched one where it is named.

import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { joinPath } from '../key-lines.js';
import type { WebConfig } from '../types.js';
import { readSecret } from './output-common.js';
import { checkKeys, Ctx, describe, isTable, type KeySpec, OURS, readString, type Table } from './readers.js';

const WEB_KEYS: Record<string, KeySpec> = {
  tls_cert: OURS,
  tls_key: OURS,
  basic_auth_users: OURS,
  bearer_token: OURS,
  bearer_token_file: OURS,
};

/** A bcrypt hash as htpasswd -B, Go's bcrypt and bcryptjs write it. */
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** Whether the listen address only accepts connections from this host. */
export function isLoopbackListen(listen: string): boolean {
  const host = listen.slice(0, listen.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export function validateWeb(ctx: Ctx, agent: Table, agentPath: string, listen: string): WebConfig | undefined {
  const path = joinPath(agentPath, 'web');
  const raw = agent.web;
  const open = listen !== '' && !isLoopbackListen(listen);
  if (raw === undefined) {
    if (open) ctx.notice(joinPath(agentPath, 'listen'), openServerWarning(listen));
    return undefined;
  }
  if (!isTable(raw)) {
    ctx.error(path, `must be a table ([agent.web]), got ${describe(raw)}`);
    return undefined;
  }
  checkKeys(ctx, raw, path, WEB_KEYS);
  const tls = readServerTls(ctx, raw, path);
  const basicAuthUsers = readUsers(ctx, raw, path);
  const token = readSecret(ctx, raw, 'bearer_token', path);
  if (token !== undefined && token.value.trim() === '') {
    ctx.error(joinPath(path, token.from ? 'bearer_token_file' : 'bearer_token'), 'is empty: a token of random characters is needed (e.g. openssl rand -hex 32)');
  }
  const web: WebConfig = {
    ...(tls ? { tls } : {}),
    ...(basicAuthUsers ? { basicAuthUsers } : {}),
    ...(token && token.value.trim() !== '' ? { bearerToken: token.value } : {}),
  };
  if (listen === '' && Object.keys(web).length > 0) ctx.notice(path, 'the status server is off (listen = ""), so these settings have no effect');
  if (open && !web.basicAuthUsers && !web.bearerToken) ctx.notice(joinPath(agentPath, 'listen'), openServerWarning(listen));
  return Object.keys(web).length > 0 ? web : undefined;
}

function openServerWarning(listen: string): string {
  return `the status server on ${listen} serves the last profiles and the targets' error messages to anyone who can reach it: set [agent.web] basic_auth_users or bearer_token_file, or listen on 127.0.0.1`;
}

function readServerTls(ctx: Ctx, t: Table, path: string): WebConfig['tls'] {
  const certFile = readString(ctx, t, 'tls_cert', path);
  const keyFile = readString(ctx, t, 'tls_key', path);
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    ctx.error(joinPath(path, certFile === undefined ? 'tls_cert' : 'tls_key'), 'tls_cert and tls_key go together: set both to serve https, or neither');
    return undefined;
  }
  const pem: Record<string, Buffer> = {};
  for (const [k, f] of [['tls_cert', certFile], ['tls_key', keyFile]] as const) {
    try {
      pem[k] = readFileSync(f);
    } catch (err) {
      ctx.error(joinPath(path, k), `cannot read "${f}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (!pem.tls_cert || !pem.tls_key) return undefined;
  try {
    createSecureContext({ cert: pem.tls_cert, key: pem.tls_key });
  } catch (err) {
    ctx.error(joinPath(path, 'tls_key'), `"${certFile}" and "${keyFile}" are not a PEM certificate and its private key: ${(err as Error).message}`);
    return undefined;
  }
  return { certFile, keyFile };
}

function readUsers(ctx: Ctx, t: Table, path: string): Record<string, string> | undefined {
  const v = t.basic_auth_users;
  if (v === undefined) return undefined;
  const p = joinPath(path, 'basic_auth_users');
  if (!isTable(v)) {
    ctx.error(p, `must be a table of user = "bcrypt hash" lines ([agent.web.basic_auth_users]), got ${describe(v)}`);
    return undefined;
  }
  const users: Record<string, string> = {};
  for (const user of Object.keys(v)) {
    const up = joinPath(p, user);
    const hash = readString(ctx, v, user, p);
    if (hash === undefined) continue;
    if (user === '' || user.includes(':')) {
      ctx.error(up, 'a user name must not be empty or contain ":" (basic auth cannot send it)');
      continue;
    }
    const m = BCRYPT.exec(hash);
    if (!m) {
      // Never echo the value: it may be a password written by mistake.
      ctx.error(up, 'must be a bcrypt hash ("$2y$10$" and 53 characters; make one with htpasswd -nBC 10 "" | tr -d \':\\n\'), not a password');
      continue;
    }
    const cost = Number(m[1]);
    if (cost < 4 || cost > 31) {
      ctx.error(up, `bcrypt cost ${cost} is out of range: use 10 to 12`);
      continue;
    }
    users[user] = hash;
  }
  if (Object.keys(users).length === 0 && Object.keys(v).length === 0) ctx.error(p, 'is empty: list at least one user = "bcrypt hash", or remove the table');
  return Object.keys(users).length > 0 ? users : undefined;
}
