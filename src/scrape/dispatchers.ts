// One shared undici Agent for every plain target (keep-alive, connection
// reuse), plus one per distinct TLS setting. Agents are created once and
// closed together.

import { readFileSync } from 'node:fs';
import { Agent, type Dispatcher } from 'undici';
import type { TlsConfig } from '../config/types.js';
import { LIMITS } from '../limits.js';

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

/**
 * undici connect options for DataKit's TLS keys: verification on unless
 * insecure_skip_verify, tls_ca trusted instead of the system CAs, a client
 * certificate from tls_cert and tls_key.
 * Reads the files; throws TlsFileError naming the key when one cannot be read.
 */
export function tlsConnectOptions(tls: TlsConfig): NonNullable<Agent.Options['connect']> {
  return {
    rejectUnauthorized: !tls.insecureSkipVerify,
    ...(tls.caFile ? { ca: readPem(tls.caFile, 'tls_ca') } : {}),
    ...(tls.certFile ? { cert: readPem(tls.certFile, 'tls_cert') } : {}),
    ...(tls.keyFile ? { key: readPem(tls.keyFile, 'tls_key') } : {}),
  };
}

export class DispatcherPool {
  private readonly plain: Agent;
  private readonly tls = new Map<string, Agent>();

  constructor(private readonly agentOptions: Agent.Options = {}) {
    this.plain = new Agent(this.options());
  }

  private options(connect?: Agent.Options['connect']): Agent.Options {
    return {
      keepAliveTimeout: LIMITS.keepAliveMs,
      keepAliveMaxTimeout: LIMITS.keepAliveMs,
      connections: LIMITS.connectionsPerTarget,
      pipelining: 1,
      ...this.agentOptions,
      ...(connect ? { connect } : {}),
    };
  }

  /** The dispatcher for a target; throws TlsFileError when a TLS file cannot be read. */
  get(tls?: TlsConfig): Dispatcher {
    if (!tls) return this.plain;
    const key = JSON.stringify([tls.caFile, tls.certFile, tls.keyFile, tls.insecureSkipVerify]);
    let agent = this.tls.get(key);
    if (!agent) {
      agent = new Agent(this.options(tlsConnectOptions(tls)));
      this.tls.set(key, agent);
    }
    return agent;
  }

  /**
   * Forgets the TLS pools so the next scrape reads the certificate files
   * again (a reload after rotating certificates); the old pools finish what
   * they are doing and close.
   */
  reloadTls(): void {
    const old = [...this.tls.values()];
    this.tls.clear();
    for (const a of old) void a.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const all = [this.plain, ...this.tls.values()];
    this.tls.clear();
    await Promise.allSettled(all.map((a) => a.destroy()));
  }
}
