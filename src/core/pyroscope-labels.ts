// Pyroscope's label rules, shared by config validation (so --check can say
// what a backend will refuse) and the Pyroscope output (which applies them).

/** Pyroscope's default `validation.max-label-names-per-series`. */
export const PYROSCOPE_MAX_LABELS = 30;

/** Label names are limited to [A-Za-z0-9_.] and must not start with a digit. */
export function sanitizeLabelName(name: string): string {
  let out = name.replace(/[^A-Za-z0-9_.]/g, '_');
  if (out === '' || /^[0-9]/.test(out)) out = `_${out}`;
  return out;
}

export interface LabelPlan {
  /** name -> value, in the order they are sent. */
  readonly labels: ReadonlyArray<readonly [string, string]>;
  /** Tags whose names had to change. */
  readonly renamed: ReadonlyArray<readonly [string, string]>;
  /** Two tags that became the same label name. */
  readonly collisions: ReadonlyArray<readonly [string, string, string]>;
}

/**
 * The labels of one profile: `__name__`, `service_name` (from the service
 * tag), every other tag, and `__delta__="false"` on deltas (ours or
 * godeltaprof's), so Pyroscope does not take a delta again.
 */
export function pyroscopeLabels(tags: Readonly<Record<string, string>>, name: string, isDelta: boolean): LabelPlan {
  const labels: Array<[string, string]> = [['__name__', name]];
  const owner = new Map<string, string>([['__name__', '__name__'], ['service_name', 'service']]);
  const renamed: Array<[string, string]> = [];
  const collisions: Array<[string, string, string]> = [];
  labels.push(['service_name', tags.service ?? '']);
  for (const [k, v] of Object.entries(tags)) {
    if (k === 'service') continue;
    const name = sanitizeLabelName(k);
    if (name !== k) renamed.push([k, name]);
    const prev = owner.get(name);
    if (prev !== undefined || name.startsWith('__')) {
      collisions.push([prev ?? name, k, name]);
      continue;
    }
    owner.set(name, k);
    labels.push([name, v]);
  }
  if (isDelta) labels.push(['__delta__', 'false']);
  return { labels, renamed, collisions };
}
