// dns_sd: DNS names re-resolved every refresh_interval, as Prometheus'
// dns_sd_configs does. SRV records give "target:port" each; A and AAAA
// records give the address with the configured port. Labels, as Prometheus
// sets them (for relabel rules; dropped after them like every __ label):
// __meta_dns_name (the name asked), and for SRV records
// __meta_dns_srv_record_target (rooted, "host.example.com.") and
// __meta_dns_srv_record_port. One group per SRV record, one per A/AAAA name.
//
// Per name: NXDOMAIN or no records of the type (ENOTFOUND, ENODATA) means the
// name has no targets now, so the ones it had vanish; any other failure
// (timeout, SERVFAIL, refused) keeps the name's last good targets. Each
// distinct failure of a name is logged once, and its recovery once.
//
// A fresh Resolver is made for each refresh: c-ares keeps a per-resolver
// answer cache (by TTL), and a refresh is meant to ask the servers again.

import { Resolver } from 'node:dns/promises';
import type { DiscoveryConfig } from '../config/types.js';
import type { Logger } from '../core/log.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { changesOnly, type DiscoveryProvider, type TargetGroup } from './types.js';

export type DnsSdConfig = Extract<DiscoveryConfig, { kind: 'dns_sd' }>;

/** Error codes that say the name has no such records: its targets are gone. */
const GONE_CODES = new Set(['ENOTFOUND', 'ENODATA']);

/** Per-try timeout: a tenth of the refresh interval, within 200 ms .. 2 s; three tries. */
function resolverTimeoutMs(refreshIntervalMs: number): number {
  return Math.min(2000, Math.max(200, Math.floor(refreshIntervalMs / 10)));
}
const RESOLVER_TRIES = 3;

type NameState = { readonly kind: 'ok'; readonly groups: readonly TargetGroup[] } | { readonly kind: 'failed'; readonly code: string; readonly message: string };

const targetCount = (groups: readonly TargetGroup[]): number => groups.reduce((n, g) => n + g.targets.length, 0);

export class DnsSd implements DiscoveryProvider {
  readonly description: string;
  private timer: TimerHandle | null = null;
  private stopped = false;
  private resolver: Resolver | null = null;
  /** Target groups of each name as last known (absent: never resolved yet). */
  private readonly lastGood = new Map<string, readonly TargetGroup[]>();
  /** What was last logged about each name's failure ('' or absent: it resolves). */
  private readonly saidError = new Map<string, string>();
  private send: (groups: readonly TargetGroup[]) => void = () => undefined;

  constructor(
    private readonly config: DnsSdConfig,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    if (config.type !== 'SRV' && config.port === undefined) throw new Error(`dns_sd type ${config.type} needs a port`);
    const port = config.type === 'SRV' || config.port === undefined ? '' : ` port ${config.port}`;
    this.description = `dns_sd ${config.type} ${config.names.join(', ')}${port}`;
  }

  start(update: (groups: readonly TargetGroup[]) => void): void {
    // Nothing known yet is the same as an empty list: no update for it.
    this.send = changesOnly(update, []);
    void this.refresh();
  }

  /** Resolves every name once, sends the list if it changed, and arms the next refresh. */
  async refresh(): Promise<void> {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
    if (this.stopped) return;
    const resolver = new Resolver({ timeout: resolverTimeoutMs(this.config.refreshIntervalMs), tries: RESOLVER_TRIES });
    if (this.config.servers && this.config.servers.length > 0) {
      try {
        resolver.setServers([...this.config.servers]);
      } catch (err) {
        // Validation checks the shape; this is the last line of defence.
        this.noteFailure('*', 'EBADSERVER', `bad servers ${JSON.stringify(this.config.servers)}: ${(err as Error).message}`);
        this.arm();
        return;
      }
    }
    this.resolver = resolver;
    const states = await Promise.all(this.config.names.map((name) => this.resolveName(resolver, name)));
    if (this.resolver === resolver) this.resolver = null;
    if (this.stopped) return;

    this.config.names.forEach((name, i) => {
      const s = states[i]!;
      if (s.kind === 'ok') {
        if (this.saidError.get(name)) this.log.info({ dns_name: name }, `${this.description}: ${name} resolves again (${targetCount(s.groups)} target(s))`);
        this.saidError.delete(name);
        this.lastGood.set(name, s.groups);
      } else if (GONE_CODES.has(s.code)) {
        // The name (or its records of this type) is gone: so are its targets.
        this.noteFailure(name, s.code, `${name} has no ${this.config.type} records (${s.code}); it has no targets now`, 'info');
        this.lastGood.set(name, [{ targets: [], labels: { __meta_dns_name: name } }]);
      } else {
        this.noteFailure(name, s.code, `${name} did not resolve (${s.message}); keeping its last good targets`);
      }
    });

    this.send(this.config.names.flatMap((name) => this.lastGood.get(name) ?? []));
    this.arm();
  }

  private arm(): void {
    if (!this.stopped) this.timer = this.clock.setTimer(() => void this.refresh(), this.config.refreshIntervalMs);
  }

  /** Logs a name's failure once per distinct error code. */
  private noteFailure(name: string, code: string, text: string, level: 'info' | 'warn' = 'warn'): void {
    if (this.saidError.get(name) === code) return;
    this.saidError.set(name, code);
    this.log[level]({ dns_name: name, err: { code, message: text } }, `${this.description}: ${text}`);
  }

  private async resolveName(resolver: Resolver, name: string): Promise<NameState> {
    try {
      if (this.config.type === 'SRV') {
        const byTarget = new Map<string, TargetGroup>();
        for (const r of await resolver.resolveSrv(name)) {
          const host = r.name.replace(/\.$/, '');
          const target = `${host}:${r.port}`;
          byTarget.set(target, { targets: [target], labels: { __meta_dns_name: name, __meta_dns_srv_record_target: `${host}.`, __meta_dns_srv_record_port: String(r.port) } });
        }
        return { kind: 'ok', groups: [...byTarget.keys()].sort().map((t) => byTarget.get(t)!) };
      }
      const targets = this.config.type === 'A' ? (await resolver.resolve4(name)).map((ip) => `${ip}:${this.config.port}`) : (await resolver.resolve6(name)).map((ip) => `[${ip}]:${this.config.port}`);
      return { kind: 'ok', groups: [{ targets: [...new Set(targets)].sort(), labels: { __meta_dns_name: name } }] };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return { kind: 'failed', code: e.code ?? 'EUNKNOWN', message: e.message };
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
    // Queries in flight end now (ECANCELLED) instead of at their timeout.
    this.resolver?.cancel();
    this.resolver = null;
  }
}
