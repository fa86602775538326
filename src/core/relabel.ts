// Prometheus relabel_config rules (model/relabel in Prometheus 3.x), applied
// to discovered targets' labels: compile the rules once, then relabel()
// every target on every discovery update.
//
// Semantics are Prometheus's, case for case: the rule fields and defaults,
// the per-action validation with its messages, `$1`/`${name}` expansion as
// Go's Regexp.Expand, hashmod as md5 -> last 8 bytes -> uint64 % modulus,
// lowercase/uppercase as Go's strings.ToLower/ToUpper, and the order in which
// labelmap visits labels (labels.Builder.Range). Label names are validated
// with Prometheus 3's default UTF-8 scheme unless `nameValidation: 'legacy'`
// (Prometheus 2, or metric_name_validation_scheme: legacy) is asked for.
// Regexes are RE2 translated by relabel-regex.ts.

import { createHash } from 'node:crypto';
import { compileRelabelRegex, Re2Error, type CompiledRegex } from './relabel-regex.js';
import { expand, goToLower, goToUpper, parseTemplate, type Template } from './relabel-text.js';

export { goToLower, goToUpper };

export const RELABEL_ACTIONS = ['replace', 'keep', 'drop', 'keepequal', 'dropequal', 'hashmod', 'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase'] as const;
export type RelabelAction = (typeof RELABEL_ACTIONS)[number];
export type NameValidation = 'utf8' | 'legacy';

/** A compiled rule: build with compileRelabelRules, use with relabel(). */
export interface RelabelRule {
  readonly action: RelabelAction;
  readonly sourceLabels: readonly string[];
  readonly separator: string;
  /** The regex as written (unanchored), for --check. */
  readonly regexSource: string;
  readonly modulus: bigint;
  readonly targetLabel: string;
  readonly replacement: string;
  readonly nameValidation: NameValidation;
  /** @internal */ readonly re: CompiledRegex;
  /** @internal */ readonly target: Template;
  /** @internal */ readonly repl: Template;
}

/** One problem, located: path is e.g. "relabel_configs[2].regex". */
export interface RelabelIssue {
  readonly index: number;
  /** The rule's key the problem is in, or null for the rule as a whole. */
  readonly field: string | null;
  readonly path: string;
  readonly message: string;
}

export type CompileResult = { readonly ok: true; readonly rules: readonly RelabelRule[] } | { readonly ok: false; readonly issues: readonly RelabelIssue[] };

export interface CompileOptions {
  /** Prefix of issue paths; default "relabel_configs". */
  readonly path?: string;
  /** Label-name rules for target_label and labelmap replacement; default 'utf8' (Prometheus 3). */
  readonly nameValidation?: NameValidation;
}

export type LabelSet = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

const FIELDS = ['source_labels', 'separator', 'regex', 'modulus', 'target_label', 'replacement', 'action'] as const;
const DEFAULT_REGEX = '(.*)';
const DEFAULT_REGEX_COMPILED = compileRelabelRegex(DEFAULT_REGEX);
const UINT64_MAX = (1n << 64n) - 1n;

// --- label names -----------------------------------------------------------

const LEGACY_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LONE_SURROGATE = /\p{Cs}/u;

/** model.ValidationScheme.IsValidLabelName: legacy [A-Za-z_][A-Za-z0-9_]*, UTF-8 any non-empty valid text. */
export function isValidLabelName(name: string, scheme: NameValidation): boolean {
  return scheme === 'legacy' ? LEGACY_NAME.test(name) : name.length > 0 && !LONE_SURROGATE.test(name);
}

const isWord = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);

/**
 * Prometheus's relabelTargetLegacy, ^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$,
 * as a scan (the regex backtracks exponentially in JavaScript): a letter, _ or
 * $var first, then word characters and $var / ${var}.
 */
export function isLegacyNameWithVars(s: string): boolean {
  let i = 0;
  while (i < s.length) {
    if (s[i] === '$') {
      const brace = s[i + 1] === '{';
      let j = i + (brace ? 2 : 1);
      const start = j;
      while (isWord(s[j])) j++;
      if (j === start || (brace && s[j] !== '}')) return false;
      i = brace ? j + 1 : j;
    } else if (isWord(s[i]) && (i > 0 || !/[0-9]/.test(s[i]!))) i++;
    else return false;
  }
  return s.length > 0;
}

function isValidNameWithVars(s: string, scheme: NameValidation): boolean {
  return scheme === 'utf8' ? isValidLabelName(s, scheme) : isLegacyNameWithVars(s);
}

// --- compile ---------------------------------------------------------------

function describe(v: unknown): string {
  return Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'bigint' ? 'an integer' : typeof v === 'object' ? 'a table' : `a ${typeof v}`;
}

/**
 * Checks and compiles rules as the config parser passes them: an array of
 * plain objects with the keys source_labels (string array), separator,
 * regex, modulus (non-negative integer, number or bigint), target_label,
 * replacement, action (strings). Every problem of every rule is listed, each
 * rule's first Prometheus validation error included.
 */
export function compileRelabelRules(raw: unknown, opts: CompileOptions = {}): CompileResult {
  const prefix = opts.path ?? 'relabel_configs';
  const scheme = opts.nameValidation ?? 'utf8';
  const issues: RelabelIssue[] = [];
  if (!Array.isArray(raw)) return { ok: false, issues: [{ index: -1, field: null, path: prefix, message: `expected an array of tables (one per rule), got ${describe(raw)}` }] };
  const rules: RelabelRule[] = [];
  raw.forEach((r: unknown, index) => {
    const issue = (field: string | null, message: string): void => {
      issues.push({ index, field, path: `${prefix}[${index}]${field ? `.${field}` : ''}`, message });
    };
    if (typeof r !== 'object' || r === null || Array.isArray(r)) return issue(null, `expected a table with keys ${FIELDS.join(', ')}, got ${describe(r)}`);
    const o = r as Record<string, unknown>;
    const before = issues.length;
    for (const k of Object.keys(o)) if (!(FIELDS as readonly string[]).includes(k)) issue(k, `unknown key; a relabel rule has ${FIELDS.join(', ')}`);
    const str = (k: string, dflt: string): string => {
      const v = o[k];
      if (v === undefined) return dflt;
      if (typeof v === 'string') return v;
      issue(k, `expected a string, got ${describe(v)}`);
      return dflt;
    };
    let sourceLabels: string[] = [];
    if (o.source_labels !== undefined) {
      if (!Array.isArray(o.source_labels) || o.source_labels.some((l) => typeof l !== 'string')) issue('source_labels', `expected an array of label names (strings), got ${describe(o.source_labels)}`);
      else {
        sourceLabels = o.source_labels as string[];
        // Prometheus checks these while parsing, with the global (UTF-8) rule whatever the scheme.
        for (const l of sourceLabels) if (!isValidLabelName(l, 'utf8')) issue('source_labels', `${JSON.stringify(l)} is not a valid label name (empty)`);
      }
    }
    const separator = str('separator', ';');
    const targetLabel = str('target_label', '');
    const replacement = str('replacement', '$1');
    const actionText = str('action', 'replace');
    const action = actionText.toLowerCase() as RelabelAction;
    if (!RELABEL_ACTIONS.includes(action)) issue('action', `unknown relabel action ${JSON.stringify(actionText)}; one of ${RELABEL_ACTIONS.join(', ')}`);
    let modulus = 0n;
    const m = o.modulus;
    if (m !== undefined) {
      const big = typeof m === 'bigint' ? m : typeof m === 'number' && Number.isSafeInteger(m) ? BigInt(m) : null;
      if (big === null || big < 0n || big > UINT64_MAX) issue('modulus', `expected a non-negative integer (uint64), got ${typeof m === 'number' ? String(m) : describe(m)}`);
      else modulus = big;
    }
    let re = DEFAULT_REGEX_COMPILED;
    const regexSource = str('regex', DEFAULT_REGEX);
    if (o.regex !== undefined && typeof o.regex === 'string') {
      try {
        re = compileRelabelRegex(regexSource);
      } catch (err) {
        if (!(err instanceof Re2Error)) throw err;
        issue('regex', err.message);
      }
    }
    if (issues.length > before) return;
    const problem = validate({ action, modulus, targetLabel, replacement, separator, regexSet: o.regex !== undefined, sourceLabelsSet: o.source_labels !== undefined, scheme });
    if (problem) return issue(problem[0], problem[1]);
    rules.push({
      action, sourceLabels, separator, regexSource, modulus, targetLabel, replacement, nameValidation: scheme, re,
      target: parseTemplate(targetLabel, re),
      repl: parseTemplate(replacement, re),
    });
  });
  return issues.length ? { ok: false, issues } : { ok: true, rules };
}

interface Checked {
  action: RelabelAction;
  modulus: bigint;
  targetLabel: string;
  replacement: string;
  separator: string;
  regexSet: boolean;
  sourceLabelsSet: boolean;
  scheme: NameValidation;
}

/** Prometheus's Config.Validate, in its order: the first problem, with the key it is about. */
function validate(c: Checked): [string | null, string] | null {
  const a = c.action;
  const invalidTarget = (): [string, string] => ['target_label', `${JSON.stringify(c.targetLabel)} is invalid 'target_label' for ${a} action${c.scheme === 'legacy' ? ' (legacy names: [A-Za-z_][A-Za-z0-9_]*, with $1 or ${name} for replace)' : ''}`];
  const equalOrCase = a === 'lowercase' || a === 'uppercase' || a === 'keepequal' || a === 'dropequal';
  if (a === 'hashmod' && c.modulus === 0n) return ['modulus', 'relabel configuration for hashmod requires non-zero modulus (the number of buckets)'];
  if ((a === 'replace' || a === 'hashmod' || equalOrCase) && c.targetLabel === '') return ['target_label', `relabel configuration for ${a} action requires 'target_label' value`];
  const hasVar = c.targetLabel.includes('$');
  if (a === 'replace' && !hasVar && !isValidLabelName(c.targetLabel, c.scheme)) return invalidTarget();
  if (a === 'replace' && hasVar && !isValidNameWithVars(c.targetLabel, c.scheme)) return invalidTarget();
  if (equalOrCase && !isValidLabelName(c.targetLabel, c.scheme)) return invalidTarget();
  if (equalOrCase && c.replacement !== '$1') return ['replacement', `'replacement' can not be set for ${a} action`];
  if (a === 'labelmap' && !isValidNameWithVars(c.replacement, c.scheme)) return ['replacement', `${JSON.stringify(c.replacement)} is invalid 'replacement' for labelmap action`];
  if (a === 'hashmod' && !isValidLabelName(c.targetLabel, c.scheme)) return invalidTarget();
  if ((a === 'keepequal' || a === 'dropequal') && (c.regexSet || c.modulus !== 0n || c.separator !== ';' || c.replacement !== '$1'))
    return [null, `${a} action requires only 'source_labels' and \`target_label\`, and no other fields`];
  if ((a === 'labeldrop' || a === 'labelkeep') && (c.sourceLabelsSet || c.targetLabel !== '' || c.modulus !== 0n || c.separator !== ';' || c.replacement !== '$1'))
    return [null, `${a} action requires only 'regex', and no other fields`];
  return null;
}

// --- apply -----------------------------------------------------------------

/** Code-point order (Go's byte order of UTF-8), which UTF-16 `<` is not above U+FFFF. */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (U+10000 and up) sort after U+E000..U+FFFF.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/**
 * labels.Builder: `cur` is the label set; `added` keeps the names Set since
 * the start in the order Prometheus's add list has them, because
 * Builder.Range (what labelmap walks) visits untouched input labels in
 * sorted order first, then the added ones in that order.
 */
class Builder {
  readonly cur: Map<string, string>;
  private readonly added = new Map<string, true>();
  private baseSorted: string[] | null = null;

  constructor(input: LabelSet) {
    this.cur = new Map();
    // An empty value is no label (Builder.Reset deletes them).
    for (const [k, v] of input instanceof Map ? input : Object.entries(input)) if (v !== '') this.cur.set(k, v);
  }

  get(n: string): string {
    return this.cur.get(n) ?? '';
  }

  set(n: string, v: string): void {
    if (v === '') return this.del(n);
    this.cur.set(n, v);
    if (!this.added.has(n)) this.added.set(n, true);
  }

  del(n: string): void {
    this.cur.delete(n);
    this.added.delete(n);
  }

  /** Snapshot in Builder.Range order; only labelmap needs the order. */
  range(): Array<[string, string]> {
    this.baseSorted ??= [...this.cur.keys()].filter((n) => !this.added.has(n)).sort(compareNames);
    const out: Array<[string, string]> = [];
    for (const n of this.baseSorted) {
      const v = this.cur.get(n);
      if (v !== undefined && !this.added.has(n)) out.push([n, v]);
    }
    for (const n of this.added.keys()) out.push([n, this.cur.get(n)!]);
    return out;
  }
}

/**
 * Applies the rules in order. Returns the new label set (sorted by name) or
 * null when a keep/drop/keepequal/dropequal rule dropped the target. The
 * input is not modified. `onRule` is told the index of each rule before it
 * runs (the last one told is the one that dropped a target, or the one a
 * watchdog found running too long).
 */
export function relabel(labels: LabelSet, rules: readonly RelabelRule[], onRule?: (index: number) => void): Map<string, string> | null {
  const b = new Builder(labels);
  for (let i = 0; i < rules.length; i++) {
    onRule?.(i);
    if (!apply(rules[i]!, b)) return null;
  }
  return new Map([...b.cur].sort((x, y) => compareNames(x[0], y[0])));
}

function apply(r: RelabelRule, b: Builder): boolean {
  const src = r.sourceLabels;
  const val = src.length === 1 ? b.get(src[0]!) : src.map((n) => b.get(n)).join(r.separator);
  switch (r.action) {
    case 'drop':
      return !r.re.regex.test(val);
    case 'keep':
      return r.re.regex.test(val);
    case 'dropequal':
      return b.get(r.targetLabel) !== val;
    case 'keepequal':
      return b.get(r.targetLabel) === val;
    case 'replace': {
      const m = r.re.regex.exec(val);
      if (!m) return true;
      const target = expand(r.target, m);
      if (!isValidLabelName(target, r.nameValidation)) return true;
      b.set(target, expand(r.repl, m)); // an empty result deletes the label
      return true;
    }
    case 'lowercase':
      b.set(r.targetLabel, goToLower(val));
      return true;
    case 'uppercase':
      b.set(r.targetLabel, goToUpper(val));
      return true;
    case 'hashmod':
      b.set(r.targetLabel, hashmod(val, r.modulus).toString());
      return true;
    case 'labelmap':
      for (const [n, v] of b.range()) {
        const m = r.re.regex.exec(n);
        if (m) b.set(expand(r.repl, m), v);
      }
      return true;
    case 'labeldrop':
    case 'labelkeep': {
      const keepMatches = r.action === 'labelkeep';
      for (const n of [...b.cur.keys()]) if (r.re.regex.test(n) !== keepMatches) b.del(n);
      return true;
    }
  }
}

/** Prometheus's hashmod: md5 of the UTF-8 value, its last 8 bytes as a big-endian uint64, modulo. */
export function hashmod(value: string, modulus: bigint): bigint {
  return createHash('md5').update(value, 'utf8').digest().readBigUInt64BE(8) % modulus;
}

/**
 * The labels a target keeps after relabeling, as Prometheus's
 * Target.Labels(): every name starting with "__" is removed: discovery's
 * __meta_* labels, __tmp_* scratch labels, and the settings a collector reads
 * before calling this (__address__, __scheme__, __pprof_path__, ...).
 */
export function dropReservedLabels(labels: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of labels) if (!k.startsWith('__')) out.set(k, v);
  return out;
}
