// [[inputs.profile.go.relabel_configs]] of a template (discovery) block:
// Prometheus relabel rules, checked by the relabel engine itself so a rule
// that loads here is one the engine runs, each problem at its own line.
//
// `${VAR}` is not expanded in these rules: `$1`, `${1}` and `${name}` are the
// regex's groups there, as in Prometheus.

import { compileRelabelRules } from '../../core/relabel.js';
import { joinPath } from '../key-lines.js';
import type { RelabelConfigSpec } from '../types.js';
import { Ctx, describe, isTable, type Table } from './readers.js';

/** The rules of `t.relabel_configs`, as written, or undefined (none, or invalid: the errors are in ctx). */
export function readRelabelConfigs(ctx: Ctx, t: Table, path: string, isTemplate: boolean): RelabelConfigSpec[] | undefined {
  const raw = t.relabel_configs;
  if (raw === undefined) return undefined;
  const p = joinPath(path, 'relabel_configs');
  if (!isTemplate) {
    ctx.error(p, 'relabels the targets a discovery finds (file_sd, http_sd, dns_sd, kubernetes_sd): a block with url names its one target, so write its tags, tenant_id and url directly instead');
    return undefined;
  }
  // [inputs.profile.go.relabel_configs] (one table) is one rule, like [[...]] once.
  const rules = isTable(raw) ? [raw] : raw;
  if (!Array.isArray(rules)) {
    ctx.error(p, `must be rules written as [[inputs.profile.go.relabel_configs]] tables, got ${describe(raw)}`);
    return undefined;
  }
  const result = compileRelabelRules(rules, { path: p });
  if (!result.ok) {
    for (const issue of result.issues) {
      const where = issue.index >= 0 ? ` (rule ${issue.index + 1} of this block's relabel_configs)` : '';
      ctx.error(issue.path, `${issue.message}${where}`);
    }
    return undefined;
  }
  // What compiled is plain TOML data (strings, string arrays, safe integers): kept as written.
  return (rules as Table[]).map((r) => ({ ...r }) as RelabelConfigSpec);
}
