// One shared undici Agent for every plain target (keep-alive, connection
// reuse), plus one per distinct TLS setting. Agents are created once and
// closed together. Per target origin: at most LIMITS.connectionsPerTarget
// keep-alive sockets (the CPU window's, and one the quick types share),
// no pipelining (a request behind a CPU window would wait for it), and an
// idle socket closed after LIMITS.keepAliveMs whatever the server's
// Keep-Alive hint says (keepAliveMaxTimeout): at 1,000 targets at most
// 2,000 sockets, none idle for longer than a minute.

import type { Agent, Dispatcher } from 'undici';
import type { TlsConfig } from '../config/types.js';
import { createAgent, readTlsFiles } from '../core/dispatcher.js';
import { LIMITS } from '../core/limits.js';

export class DispatcherPool {
  private readonly plain: Agent;
  private readonly tls = new Map<string, Agent>();

  constructor(private readonly agentOptions: Agent.Options = {}) {
    this.plain = createAgent(this.options());
  }

  private options(): Agent.Options {
    return {
      keepAliveTimeout: LIMITS.keepAliveMs,
      keepAliveMaxTimeout: LIMITS.keepAliveMs,
      connections: LIMITS.connectionsPerTarget,
      pipelining: 1, // one request at a time per socket: no pipelining
      ...this.agentOptions,
    };
  }

  /** The dispatcher for a target; throws TlsFileError when a TLS file cannot be read. */
  get(tls?: TlsConfig): Dispatcher {
    if (!tls) return this.plain;
    const key = JSON.stringify([tls.caFile, tls.certFile, tls.keyFile, tls.insecureSkipVerify]);
    let agent = this.tls.get(key);
    if (!agent) {
      agent = createAgent(this.options(), readTlsFiles(tls));
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
