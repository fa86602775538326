// What the network outputs share in the config: their deadline, headers,
// concurrency and TLS keys, secrets read from a key or its *_file, and the
// basic_auth / bearer_token credentials (Pyroscope, OTLP).

import { readFileSync, statSync } from 'node:fs';
import { LIMITS } from '../../core/limits.js';
import { joinPath } from '../key-lines.js';
import type { OutputAuth, TlsConfig } from '../types.js';
import { checkKeys, Ctx, describe, isTable, type KeySpec, OURS, readDuration, readPositiveInt, readString, readStringTable, type Table } from './readers.js';
import { validateTlsKeys } from './tls.js';

/** Keys every network output takes: deadline, headers, concurrency, TLS. */
export const NETWORK_OUTPUT_KEYS: Record<string, KeySpec> = {
  timeout: OURS,
  headers: OURS,
  concurrency: OURS,
  tls_ca: OURS,
  tls_cert: OURS,
  tls_key: OURS,
  insecure_skip_verify: OURS,
};

/** The credential keys of the outputs that take them (readOutputAuth). */
export const AUTH_KEYS: Record<string, KeySpec> = { basic_auth: OURS, bearer_token: OURS, bearer_token_file: OURS };
const BASIC_AUTH_KEYS: Record<string, KeySpec> = { username: OURS, password: OURS, password_file: OURS };

/** A secret file is a token or a password, never more. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/**
 * A secret from `key` or from the file named by `key_file` (one of the two).
 * The file is read now, so --check reports a missing one; its trailing
 * newline is dropped. The value never appears in a message.
 */
export function readSecret(ctx: Ctx, t: Table, key: string, path: string): { value: string; from?: string } | undefined {
  const inline = readString(ctx, t, key, path);
  const file = readString(ctx, t, `${key}_file`, path);
  if (inline !== undefined && file !== undefined) {
    ctx.error(joinPath(path, `${key}_file`), `set ${key} or ${key}_file, not both`);
    return undefined;
  }
  if (file !== undefined) {
    try {
      // A device, FIFO or huge file named by mistake (/dev/zero, /dev/stdin)
      // would hang the loader or exhaust memory: secrets come from small regular files.
      const st = statSync(file);
      if (!st.isFile() || st.size > MAX_SECRET_FILE_BYTES) {
        ctx.error(joinPath(path, `${key}_file`), `cannot read "${file}": ${st.isFile() ? `larger than ${MAX_SECRET_FILE_BYTES / 1024} KiB` : 'not a regular file'}`);
        return undefined;
      }
      return { value: readFileSync(file, 'utf8').replace(/\r?\n$/, ''), from: file };
    } catch (err) {
      ctx.error(joinPath(path, `${key}_file`), `cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return undefined;
    }
  }
  return inline === undefined ? undefined : { value: inline };
}

export interface NetworkOutputCommon {
  readonly timeoutMs: number;
  readonly headers: Record<string, string>;
  readonly concurrency: number;
  readonly tls?: TlsConfig;
}

export function readNetworkOutputCommon(ctx: Ctx, t: Table, path: string, isHttps: boolean): NetworkOutputCommon {
  const timeoutMs = readDuration(ctx, t, 'timeout', path) ?? LIMITS.outputTimeoutMs;
  if (timeoutMs <= 0) ctx.error(joinPath(path, 'timeout'), 'must be more than 0s');
  const headers = readStringTable(ctx, t, 'headers', path);
  const concurrency = readPositiveInt(ctx, t, 'concurrency', path, 64) ?? LIMITS.outputConcurrency;
  const tls = validateTlsKeys(ctx, t, path, isHttps);
  return { timeoutMs, headers, concurrency, ...(tls ? { tls } : {}) };
}

/** `basic_auth = { username, password | password_file }` or `bearer_token[_file]`, one of the two; `kind` names the output in messages. */
export function readOutputAuth(ctx: Ctx, t: Table, path: string, kind: string): OutputAuth | undefined {
  let auth: OutputAuth | undefined;
  const bearer = readSecret(ctx, t, 'bearer_token', path);
  if (t.basic_auth !== undefined) {
    const bpath = joinPath(path, 'basic_auth');
    if (!isTable(t.basic_auth)) {
      ctx.error(bpath, `must be a table ([outputs.${kind}.basic_auth] with username and password), got ${describe(t.basic_auth)}`);
    } else {
      const b = t.basic_auth;
      checkKeys(ctx, b, bpath, BASIC_AUTH_KEYS);
      const username = readString(ctx, b, 'username', bpath);
      const password = readSecret(ctx, b, 'password', bpath);
      if (username === undefined) ctx.error(joinPath(bpath, 'username'), 'is required with basic_auth');
      if (password === undefined && b.password === undefined && b.password_file === undefined) {
        ctx.error(joinPath(bpath, 'password'), 'is required with basic_auth (or password_file)');
      }
      if (username !== undefined && password !== undefined) {
        auth = { kind: 'basic', username, password: password.value, ...(password.from ? { from: password.from } : {}) };
      }
    }
  }
  if (bearer) {
    if (auth) ctx.error(joinPath(path, 'bearer_token'), 'set basic_auth or bearer_token, not both');
    else auth = { kind: 'bearer', token: bearer.value, ...(bearer.from ? { from: bearer.from } : {}) };
  }
  return auth;
}
