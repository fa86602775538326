// The one way the collector makes an undici Agent (scrapes, outputs,
// Kubernetes discovery): the caller's pool options, plus TLS when given:
// verification on unless told otherwise, a CA trusted instead of the system
// CAs, a client certificate.

import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import type { TlsConfig } from '../config/types.js';

export class TlsFileError extends Error {
  override name = 'TlsFileError';
  readonly code = 'ERR_TLS_FILE';
}

function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsFileError(`cannot read ${key} "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** TLS settings with their files read. */
export interface TlsMaterial {
  readonly insecureSkipVerify: boolean;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** The name the server certificate is checked against, when not the URL's host. */
  readonly serverName?: string;
}

/**
 * Reads the files of DataKit's TLS keys (tls_ca, tls_cert, tls_key); throws
 * TlsFileError naming the key when one cannot be read.
 */
export function readTlsFiles(tls: TlsConfig): TlsMaterial {
  return {
    insecureSkipVerify: tls.insecureSkipVerify,
    ...(tls.caFile ? { ca: readPem(tls.caFile, 'tls_ca') } : {}),
    ...(tls.certFile ? { cert: readPem(tls.certFile, 'tls_cert') } : {}),
    ...(tls.keyFile ? { key: readPem(tls.keyFile, 'tls_key') } : {}),
  };
}

/** An Agent with these pool options; with `tls`, its connections use it (replacing any `connect` in the options). */
export function createAgent(options: Agent.Options, tls?: TlsMaterial): Agent {
  return new Agent({
    ...options,
    ...(tls
      ? {
          connect: {
            rejectUnauthorized: !tls.insecureSkipVerify,
            ...(tls.ca ? { ca: tls.ca } : {}),
            ...(tls.cert ? { cert: tls.cert } : {}),
            ...(tls.key ? { key: tls.key } : {}),
            ...(tls.serverName ? { servername: tls.serverName } : {}),
          },
        }
      : {}),
  });
}
