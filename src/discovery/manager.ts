// Runs the discoveries of the config's template blocks and turns what they
// find into target settings: each discovered address gets its labels
// (template.ts), the block's relabel_configs (relabeler.ts; a block without
// rules skips that step), then its settings. Everything a provider reports
// replaces its previous list; the collector is told after each change and
// applies it in place (reload semantics: targets that stay keep their state).
//
// Relabeling is cached per block: a target whose discovered labels did not
// change since the last update keeps its outcome, so an update of one pod
// among thousands relabels one target.

import type { GoTargetConfig, RelabelConfigSpec } from '../config/types.js';
import type { Logger } from '../core/log.js';
import { createHash } from 'node:crypto';
import { keptLabels, type LabelPairs } from './relabel-batch.js';
import { InlineRelabeler, type RelabelOutcome, type Relabeler } from './relabeler.js';
import { BadAddressError, discoveredLabels, targetFromLabels } from './template.js';
import type { DiscoveryProvider, TargetGroup } from './types.js';

export type ProviderFactory = (template: GoTargetConfig) => DiscoveryProvider;

/** One discovered target, as --check --discover shows it. */
export interface ExplainedTarget {
  /** Its labels before relabeling (sorted). */
  readonly before: ReadonlyMap<string, string>;
  /** After relabeling (sorted), when it was kept. */
  readonly after?: ReadonlyMap<string, string>;
  /** The index of the rule that dropped it. */
  readonly droppedBy?: number;
  /** Why it is not scraped, when its labels name no target that can be (or relabeling timed out). */
  readonly problem?: string;
  /** What is scraped. */
  readonly target?: GoTargetConfig;
}

export interface ExplainedBlock {
  readonly template: GoTargetConfig;
  readonly description: string;
  /** False when the provider never reported (no answer yet). */
  readonly reported: boolean;
  readonly targets: readonly ExplainedTarget[];
}

/** One discovered address; its labels before relabeling are made again when needed (not kept). */
interface Input {
  readonly group: TargetGroup;
  readonly address: string;
  /** A digest of what its labels before relabeling are made of: the key of its outcome in the block's cache. */
  readonly key: string;
}

/** What the rules made of one target, and what that makes of it. */
interface Applied {
  readonly outcome: RelabelOutcome;
  readonly target?: GoTargetConfig;
  readonly problem?: string;
}

interface Running {
  readonly key: string;
  readonly template: GoTargetConfig;
  readonly provider: DiscoveryProvider;
  readonly rules: readonly RelabelConfigSpec[] | null;
  targets: GoTargetConfig[];
  /** Until its provider first reports: the targets of the block it replaced (a reload). */
  inherited: GoTargetConfig[] | null;
  /** Updates received; a relabel batch that finishes after a newer update is dropped. */
  seq: number;
  /** Outcome of each target of the last update, by the digest of its discovered labels. */
  cache: Map<string, Applied>;
  /** The inputs of each group object seen (providers that keep unchanged groups skip the digest). */
  readonly byGroup: WeakMap<TargetGroup, Input[]>;
  explained: ExplainedTarget[] | null;
}

export interface DiscoveryManagerOptions {
  /** Where relabel rules run; default inline (the collector passes its guarded worker). */
  readonly relabeler?: Relabeler;
  /** Keep each target's labels before and after relabeling for explain() (--check --discover). */
  readonly explain?: boolean;
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
  private readonly relabeler: Relabeler;
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly factory: ProviderFactory,
    private readonly log: Logger,
    private readonly onChange: () => void,
    private readonly opts: DiscoveryManagerOptions = {},
  ) {
    this.relabeler = opts.relabeler ?? new InlineRelabeler();
  }

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
      const rules = template.relabelConfigs && template.relabelConfigs.length > 0 ? template.relabelConfigs : null;
      const r: Running = { key, template, provider, rules, targets: [], inherited: same ? (same.inherited ?? same.targets) : null, seq: 0, cache: new Map(), byGroup: new WeakMap(), explained: null };
      this.running.push(r);
      this.log.info({ discovery: provider.description }, `discovery started: ${provider.description}${rules ? ` (${rules.length} relabel rule(s))` : ''}`);
      provider.start((groups) => this.received(r, groups));
    }
  }

  private live(r: Running, seq: number): boolean {
    return !this.stopped && r.seq === seq && this.running.includes(r);
  }

  /**
   * The inputs of one group: each address with the digest of what its labels
   * are made from (the address and the group's labels, as the provider wrote
   * them: the block's defaults are the same for all). A digest, not the text:
   * a pod's labels carry its annotations, kilobytes at times.
   */
  private inputs(group: TargetGroup): Input[] {
    const labels = JSON.stringify(group.labels);
    return group.targets.map((address) => ({ group, address, key: createHash('sha1').update(JSON.stringify(address)).update(labels).digest('base64') }));
  }

  private received(r: Running, groups: readonly TargetGroup[]): void {
    if (this.stopped || !this.running.includes(r)) return;
    const seq = ++r.seq;
    const inputs: Input[] = [];
    const seen = new Set<string>();
    const before = (i: Input) => this.before(r, i);
    for (const g of groups) {
      // A provider that keeps the group objects of what did not change (kubernetes_sd
      // does, per pod) costs nothing here for those.
      let list = r.byGroup.get(g);
      if (!list) r.byGroup.set(g, (list = this.inputs(g)));
      for (const i of list) {
        if (seen.has(i.key)) continue; // listed twice with the same labels: one target
        seen.add(i.key);
        inputs.push(i);
      }
    }
    const todo = inputs.filter((i) => !r.cache.has(i.key));
    if (!r.rules || todo.length === 0) {
      const fresh = new Map(todo.map((i) => [i.key, this.resolveOutcome(r, i, { kind: 'kept', labels: keptLabels(before(i)) })]));
      this.apply(r, inputs, fresh);
      return;
    }
    const batch = this.relabeler.run(r.rules, todo.map((i): LabelPairs => [...before(i)])).then(
      (results) => {
        if (!this.live(r, seq)) return;
        this.apply(r, inputs, new Map(todo.map((i, j) => [i.key, this.resolveOutcome(r, i, results[j]!)])));
      },
      (err: Error) => {
        if (!this.live(r, seq)) return;
        const had = (r.inherited ?? r.targets).length;
        this.log.error(
          { discovery: r.provider.description, err: { message: err.message } },
          `${r.provider.description}: relabeling of this update failed: ${err.message}; keeping the ${had} target(s) it had`,
        );
      },
    );
    this.inflight.add(batch);
    void batch.finally(() => this.inflight.delete(batch));
  }

  private before(r: Running, i: Input): Map<string, string> {
    return discoveredLabels(r.template, i.group, i.address);
  }

  /** What a relabel outcome makes of a target: its settings, or why it is not scraped. */
  private resolveOutcome(r: Running, i: Input, outcome: RelabelOutcome): Applied {
    if (outcome.kind === 'dropped') return { outcome };
    if (outcome.kind === 'timeout') {
      return {
        outcome,
        problem: `relabel_configs rule ${outcome.rule + 1} ran for over ${outcome.ms} ms on this target and was stopped (a regex that backtracks on its labels); the target is skipped until its labels change or the rule does`,
      };
    }
    try {
      return { outcome, target: targetFromLabels(r.template, new Map(outcome.labels)) };
    } catch (err) {
      if (!(err instanceof BadAddressError)) throw err;
      return { outcome, problem: `${err.message}; skipped` };
    }
  }

  /** Says a problem with one target once (discovery repeats its list every refresh). */
  private sayOnce(r: Running, address: string, text: string): void {
    const key = `${r.provider.description}|${address}|${text}`;
    if (this.badSaid.has(key)) return;
    if (this.badSaid.size >= 10_000) this.badSaid.clear();
    this.badSaid.add(key);
    this.log.warn({ discovery: r.provider.description, address }, `${r.provider.description}: ${text}`);
  }

  /** Makes the block's targets those of `inputs`, from `fresh` outcomes or the ones cached. */
  private apply(r: Running, inputs: readonly Input[], fresh: ReadonlyMap<string, Applied>): void {
    const targets: GoTargetConfig[] = [];
    const cache = new Map<string, Applied>();
    const explained: ExplainedTarget[] | null = this.opts.explain ? [] : null;
    let dropped = 0;
    for (const input of inputs) {
      const a = fresh.get(input.key) ?? r.cache.get(input.key)!;
      cache.set(input.key, a);
      const o = a.outcome;
      if (o.kind === 'dropped') dropped++;
      else if (a.target) targets.push(a.target);
      else if (a.problem) {
        const address = o.kind === 'kept' ? (o.labels.find(([k]) => k === '__address__')?.[1] ?? input.address) : input.address;
        this.sayOnce(r, address, o.kind === 'timeout' ? `${address}: ${a.problem}` : a.problem);
      }
      if (explained) {
        const before = this.before(r, input);
        explained.push({
          before,
          ...(o.kind === 'dropped' ? { droppedBy: o.rule } : {}),
          ...(o.kind === 'kept' ? { after: new Map(o.labels) } : {}),
          ...(a.problem ? { problem: a.problem.replace(/; skipped$/, '') } : {}),
          ...(a.target ? { target: a.target } : {}),
        });
      }
    }
    r.cache = cache;
    r.targets = targets;
    r.inherited = null;
    r.explained = explained;
    this.log.info(
      { discovery: r.provider.description, targets: targets.length, ...(r.rules ? { dropped } : {}) },
      `${r.provider.description}: ${targets.length} target(s)${dropped > 0 ? ` (${dropped} dropped by relabel_configs)` : ''}`,
    );
    this.onChange();
  }

  /** Every target every provider reports now. */
  targets(): GoTargetConfig[] {
    return this.running.flatMap((r) => r.inherited ?? r.targets);
  }

  /** Resolves once no relabel batch is running (--once and --check --discover wait for the last update). */
  async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Each block's targets of its last update, before and after relabeling (with the `explain` option). */
  explain(): ExplainedBlock[] {
    return this.running.map((r) => ({ template: r.template, description: r.provider.description, reported: r.explained !== null, targets: r.explained ?? [] }));
  }

  /** Stops every provider; the targets they reported last stay known. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(this.running.map((r) => r.provider.stop()));
  }
}
