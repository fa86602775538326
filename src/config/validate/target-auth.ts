// A target block's credentials and tenant: basic_auth (username with
// password or password_file), bearer_token or bearer_token_file, user:password
// in the url, tenant_id, allow_insecure_credentials.
//
// Secret files are only checked here (a regular file, readable, small), not
// kept: the scrape reads them when it needs them, so a rotated token (a
// Kubernetes service-account token) is used from the next scrape on.

import { closeSync, fstatSync, openSync } from 'node:fs';
import { tenantIdProblem } from '../../core/tenant.js';
import { joinPath } from '../key-lines.js';
import type { TargetAuth } from '../types.js';
import { checkKeys, Ctx, describe, isTable, type KeySpec, OURS, readBool, readString, type Table } from './readers.js';

const BASIC_AUTH_KEYS: Record<string, KeySpec> = { username: OURS, password: OURS, password_file: OURS };

/** A token or password file is never more than this. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

export interface TargetAuthSettings {
  readonly auth?: TargetAuth;
  readonly tenantId?: string;
  readonly allowInsecureCredentials?: boolean;
}

/** Checks that `file` is a small regular file this process can read; reports where it is named. */
function checkSecretFile(ctx: Ctx, file: string, keyPath: string): boolean {
  let fd: number | undefined;
  try {
    // Opened, not only stat'ed: a file we may not read fails here, not at the first scrape.
    fd = openSync(file, 'r');
    const st = fstatSync(fd);
    if (!st.isFile()) ctx.error(keyPath, `cannot read "${file}": not a regular file`);
    else if (st.size > MAX_SECRET_FILE_BYTES) ctx.error(keyPath, `cannot read "${file}": larger than ${MAX_SECRET_FILE_BYTES / 1024} KiB (a token or password file is small)`);
    else return true;
  } catch (err) {
    ctx.error(keyPath, `cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return false;
}

/** `key` inline or `key_file` (one of them): the value, or the file to read at each scrape. */
function readSecretOrFile(ctx: Ctx, t: Table, key: string, path: string): { value?: string; file?: string } | undefined {
  const inline = readString(ctx, t, key, path);
  const file = readString(ctx, t, `${key}_file`, path);
  if (inline !== undefined && file !== undefined) {
    ctx.error(joinPath(path, `${key}_file`), `set ${key} or ${key}_file, not both`);
    return undefined;
  }
  if (file !== undefined) return checkSecretFile(ctx, file, joinPath(path, `${key}_file`)) ? { file } : undefined;
  return inline === undefined ? undefined : { value: inline };
}

/**
 * The credentials and tenant of an [[inputs.profile.go]] block. `urlAuth` is
 * user:password from its url (a static target). On a template block the
 * credentials go to every target it discovers, over https only unless
 * allow_insecure_credentials = true (checked when a target is found).
 */
export function readTargetAuth(ctx: Ctx, t: Table, path: string, urlAuth: { username: string; password: string } | undefined): TargetAuthSettings {
  let auth: TargetAuth | undefined = urlAuth ? { kind: 'basic', username: urlAuth.username, password: urlAuth.password, fromUrl: true } : undefined;
  if (t.basic_auth !== undefined) {
    const bpath = joinPath(path, 'basic_auth');
    if (!isTable(t.basic_auth)) {
      ctx.error(bpath, `must be a table ([inputs.profile.go.basic_auth] with username and password or password_file), got ${describe(t.basic_auth)}`);
    } else {
      const b = t.basic_auth;
      checkKeys(ctx, b, bpath, BASIC_AUTH_KEYS);
      const username = readString(ctx, b, 'username', bpath);
      const password = readSecretOrFile(ctx, b, 'password', bpath);
      if (username === undefined && b.username === undefined) ctx.error(joinPath(bpath, 'username'), 'is required in basic_auth');
      if (password === undefined && b.password === undefined && b.password_file === undefined) ctx.error(joinPath(bpath, 'password'), 'basic_auth needs password or password_file');
      if (urlAuth) ctx.error(bpath, 'the url already carries user:password; set the credentials in one place');
      else if (username !== undefined && password) {
        auth = { kind: 'basic', username, ...(password.file !== undefined ? { passwordFile: password.file } : { password: password.value ?? '' }) };
      }
    }
  }
  const bearer = readSecretOrFile(ctx, t, 'bearer_token', path);
  if (bearer) {
    if (auth || t.basic_auth !== undefined) ctx.error(joinPath(path, bearer.file !== undefined ? 'bearer_token_file' : 'bearer_token'), `set ${auth?.kind === 'basic' && auth.fromUrl ? 'user:password in the url' : 'basic_auth'} or a bearer token, not both`);
    else auth = { kind: 'bearer', ...(bearer.file !== undefined ? { tokenFile: bearer.file } : { token: bearer.value ?? '' }) };
  }
  if (bearer?.value !== undefined && /[\r\n]/.test(bearer.value)) ctx.error(joinPath(path, 'bearer_token'), 'must be one line (a token has no line breaks)');

  const tenantId = readString(ctx, t, 'tenant_id', path);
  if (tenantId !== undefined) {
    const problem = tenantIdProblem(tenantId);
    if (problem) ctx.error(joinPath(path, 'tenant_id'), `${problem} (Pyroscope's rule for X-Scope-OrgID)`);
  }
  const allowInsecureCredentials = readBool(ctx, t, 'allow_insecure_credentials', path);
  return {
    ...(auth ? { auth } : {}),
    ...(tenantId ? { tenantId } : {}),
    ...(allowInsecureCredentials !== undefined ? { allowInsecureCredentials } : {}),
  };
}
