// DataKit's TLS keys (tls_open, tls_ca, tls_cert, tls_key, insecure_skip_verify), shared by targets, kubernetes_sd and outputs.

import { accessSync, constants as fsConstants } from 'node:fs';
import { joinPath } from '../key-lines.js';
import type { TlsConfig } from '../types.js';
import { Ctx, readBool, readString, type Table } from './readers.js';

export function validateTlsKeys(ctx: Ctx, t: Table, path: string, isHttps: boolean): TlsConfig | undefined {
  const open = readBool(ctx, t, 'tls_open', path);
  const ca = readString(ctx, t, 'tls_ca', path);
  const cert = readString(ctx, t, 'tls_cert', path);
  const key = readString(ctx, t, 'tls_key', path);
  const skip = readBool(ctx, t, 'insecure_skip_verify', path) ?? false;
  if ((cert === undefined) !== (key === undefined)) {
    ctx.error(joinPath(path, cert === undefined ? 'tls_key' : 'tls_cert'), 'tls_cert and tls_key go together: set both for a client certificate, or neither');
  }
  // Read now, so --check reports a missing or unreadable file where it is named.
  for (const [k, f] of [['tls_ca', ca], ['tls_cert', cert], ['tls_key', key]] as const) {
    if (f === undefined) continue;
    try {
      accessSync(f, fsConstants.R_OK);
    } catch (err) {
      ctx.error(joinPath(path, k), `cannot read "${f}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const anyTlsKey = ca !== undefined || cert !== undefined || key !== undefined || skip;
  // DataKit applies the TLS keys only with tls_open = true; an https URL
  // always verifies certificates with the system CAs by default.
  if (open === false || (open === undefined && !anyTlsKey)) return undefined;
  if (!isHttps) {
    ctx.notice(joinPath(path, 'tls_open'), 'TLS settings are set but the url is http://, so they have no effect; use https:// to profile over TLS');
    return undefined;
  }
  return {
    ...(ca !== undefined ? { caFile: ca } : {}),
    ...(cert !== undefined ? { certFile: cert } : {}),
    ...(key !== undefined ? { keyFile: key } : {}),
    insecureSkipVerify: skip,
  };
}
