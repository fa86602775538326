// One batch of relabeling: the rules of a block (compiled once and kept by
// their text), applied to each discovered target's labels. Runs in the
// relabel worker (relabel-worker.ts) or inline (relabeler.ts), the same code.

import type { RelabelConfigSpec } from '../config/types.js';
import { compileRelabelRules, relabel, type RelabelRule } from '../core/relabel.js';

export type LabelPairs = ReadonlyArray<readonly [string, string]>;

/** What relabeling made of one target. */
export type RelabelOutcome =
  | { readonly kind: 'kept'; readonly labels: LabelPairs }
  | { readonly kind: 'dropped'; readonly rule: number }
  /** Stopped by the watchdog: rule `rule` ran longer than the deadline on this target. */
  | { readonly kind: 'timeout'; readonly rule: number; readonly ms: number };

/** Where a batch is, for a watchdog: the target (index + 1; 0 none yet, -1 done) and the rule running on it. */
export interface BatchProgress {
  target(index: number): void;
  rule(index: number): void;
  done(): void;
}

/** A batch for the relabel worker (relabel-worker.ts), and its answer. */
export interface RelabelRequest {
  readonly id: number;
  readonly rulesText: string;
  readonly rules: readonly RelabelConfigSpec[];
  readonly inputs: readonly LabelPairs[];
}

export type RelabelReply = { readonly id: number; readonly ok: true; readonly results: RelabelOutcome[] } | { readonly id: number; readonly ok: false; readonly error: string };

/**
 * The "__" labels read after relabeling (template.ts); every other "__" label
 * (__meta_*, __tmp_*) is dropped as soon as the rules have run, so it is
 * neither sent back from the worker nor kept.
 */
export const TARGET_SETTING_LABELS: ReadonlySet<string> = new Set(['__address__', '__scheme__', '__pprof_path__', '__tenant_id__', '__types__']);

/** A relabeled target's labels without the ones that only the rules could read. */
export function keptLabels(labels: Iterable<readonly [string, string]>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of labels) if (!k.startsWith('__') || TARGET_SETTING_LABELS.has(k)) out.push([k, v]);
  return out;
}

/** Slots of the progress array the worker shares with the watchdog. */
export const PROGRESS_BATCH = 0;
export const PROGRESS_TARGET = 1;
export const PROGRESS_RULE = 2;

/** Compiled rules by their JSON text; a block's rules compile once, not per update. */
export class RuleCache {
  private readonly byText = new Map<string, readonly RelabelRule[]>();

  get(text: string, specs: readonly RelabelConfigSpec[]): readonly RelabelRule[] {
    let rules = this.byText.get(text);
    if (!rules) {
      const r = compileRelabelRules(specs);
      // The config was checked by the same compiler: a failure here is a bug.
      if (!r.ok) throw new Error(`relabel rules do not compile: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
      rules = r.rules;
      // Blocks come and go with reloads; a few dozen rule sets at most are live.
      if (this.byText.size >= 256) this.byText.clear();
      this.byText.set(text, rules);
    }
    return rules;
  }
}

export function runBatch(rules: readonly RelabelRule[], inputs: readonly LabelPairs[], progress?: BatchProgress): RelabelOutcome[] {
  const out: RelabelOutcome[] = [];
  let last = 0;
  const onRule = (i: number): void => {
    last = i;
    progress?.rule(i);
  };
  inputs.forEach((labels, i) => {
    progress?.target(i);
    const result = relabel(new Map(labels), rules, onRule);
    out.push(result === null ? { kind: 'dropped', rule: last } : { kind: 'kept', labels: keptLabels(result) });
  });
  progress?.done();
  return out;
}
