// Runs the discoveries of the config's template blocks and turns what they
// find into target settings. Everything a provider reports replaces its
// previous list; the collector is told after each change and applies it in
// place (reload semantics: targets that stay keep their state).

import type { GoTargetConfig } from '../config/types.js';
import type { Logger } from '../core/log.js';
import { BadAddressError, expandTemplate } from './template.js';
import type { DiscoveryProvider, TargetGroup } from './types.js';

export type ProviderFactory = (template: GoTargetConfig) => DiscoveryProvider;

interface Running {
  readonly key: string;
  readonly template: GoTargetConfig;
  readonly provider: DiscoveryProvider;
  targets: GoTargetConfig[];
  /** Until its provider first reports: the targets of the block it replaced (a reload). */
  inherited: GoTargetConfig[] | null;
}

/** Identity of a template: what it discovers and with which settings. */
function templateKey(t: GoTargetConfig): string {
  const { source: _source, ...rest } = t;
  return JSON.stringify(rest);
}

export class DiscoveryManager {
  private running: Running[] = [];
  private stopped = false;
  private readonly badSaid = new Set<string>();

  constructor(
    private readonly factory: ProviderFactory,
    private readonly log: Logger,
    private readonly onChange: () => void,
  ) {}

  /** Starts, keeps or stops providers so they match `templates` (also on reload). */
  sync(templates: readonly GoTargetConfig[]): void {
    const wanted = new Map(templates.map((t) => [templateKey(t), t]));
    const keep: Running[] = [];
    const retired: Running[] = [];
    for (const r of this.running) {
      if (wanted.has(r.key)) {
        keep.push(r);
        wanted.delete(r.key);
      } else {
        void r.provider.stop();
        retired.push(r);
      }
    }
    this.running = keep;
    for (const [key, template] of wanted) {
      const provider = this.factory(template);
      // A block whose settings changed but that discovers the same way keeps
      // its targets (and so their baselines and slots) until the new provider
      // reports, instead of dropping them for a moment.
      const same = retired.find((o) => JSON.stringify(o.template.discovery) === JSON.stringify(template.discovery));
      const r: Running = { key, template, provider, targets: [], inherited: same ? (same.inherited ?? same.targets) : null };
      this.running.push(r);
      this.log.info({ discovery: provider.description }, `discovery started: ${provider.description}`);
      provider.start((groups) => this.received(r, groups));
    }
  }

  private received(r: Running, groups: readonly TargetGroup[]): void {
    if (this.stopped || !this.running.includes(r)) return;
    const targets: GoTargetConfig[] = [];
    for (const g of groups) {
      for (const address of g.targets) {
        try {
          targets.push(expandTemplate(r.template, g, address));
        } catch (err) {
          if (!(err instanceof BadAddressError)) throw err;
          const key = `${r.provider.description}|${address}`;
          if (!this.badSaid.has(key)) this.log.warn({ discovery: r.provider.description, address }, `discovery: ${err.message}; skipped`);
          this.badSaid.add(key);
        }
      }
    }
    r.targets = targets;
    r.inherited = null;
    this.log.info({ discovery: r.provider.description, targets: targets.length }, `${r.provider.description}: ${targets.length} target(s)`);
    this.onChange();
  }

  /** Every target every provider reports now. */
  targets(): GoTargetConfig[] {
    return this.running.flatMap((r) => r.inherited ?? r.targets);
  }

  /** Stops every provider; the targets they reported last stay known. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(this.running.map((r) => r.provider.stop()));
  }
}
