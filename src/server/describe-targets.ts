// What --check says about a target block beyond its URL and types: its
// credentials and tenant (never a secret), its relabel rules, and, with
// --discover, each discovered target's labels before and after relabeling.

import type { GoTargetConfig, RelabelConfigSpec } from '../config/types.js';
import type { ExplainedBlock } from '../discovery/manager.js';

/** Credentials in words: the kind and where they come from, never the secret. */
export function authWords(c: GoTargetConfig): string | null {
  const a = c.auth;
  if (!a) return null;
  if (a.kind === 'basic') {
    if (a.fromUrl) return 'auth: basic (user and password from the url; not shown)';
    return `auth: basic as ${a.username}, ${a.passwordFile !== undefined ? `password from ${a.passwordFile} (read again whenever it changes)` : 'password not shown'}`;
  }
  return `auth: bearer token ${a.tokenFile !== undefined ? `from ${a.tokenFile} (read again whenever it changes, so a rotated token is used)` : '(not shown)'}`;
}

/** Prometheus's text form of a label set: {a="b", c="d"}. */
export function labelSetText(labels: ReadonlyMap<string, string> | Iterable<readonly [string, string]>): string {
  return `{${[...labels].map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
}

/** One line per rule, its keys as written, e.g. `[1] action=keep source_labels=[...] regex="..."`. */
export function relabelRuleLines(rules: readonly RelabelConfigSpec[]): string[] {
  return rules.map((r, i) => {
    const parts = [`action=${r.action ?? 'replace'}`];
    if (r.source_labels) parts.push(`source_labels=[${r.source_labels.join(', ')}]`);
    for (const k of ['separator', 'regex', 'modulus', 'target_label', 'replacement'] as const) if (r[k] !== undefined) parts.push(`${k}=${JSON.stringify(r[k])}`);
    return `[${i + 1}] ${parts.join(' ')}`;
  });
}

/** The lines --check prints under a template block: credentials, tenant, rules. */
export function templateLines(t: GoTargetConfig): string[] {
  const lines: string[] = [];
  const auth = authWords(t);
  if (auth) lines.push(`${auth}; sent to discovered targets ${t.allowInsecureCredentials ? 'over http too (allow_insecure_credentials = true)' : 'over https only (an http target is not scraped; allow_insecure_credentials = true allows it)'}`);
  if (t.tenantId) lines.push(`tenant: ${t.tenantId} (X-Scope-OrgID to Pyroscope, unless a relabel rule sets __tenant_id__)`);
  if (t.relabelConfigs && t.relabelConfigs.length > 0) {
    lines.push(`relabel_configs (${t.relabelConfigs.length}), in order:`);
    for (const l of relabelRuleLines(t.relabelConfigs)) lines.push(`  ${l}`);
  }
  return lines;
}

/** --check --discover: each block's targets as found, relabeled, and what is scraped. */
export function explainLines(blocks: readonly ExplainedBlock[], waitedMs: number, owner: (target: GoTargetConfig) => string | null): string[] {
  const lines: string[] = [];
  for (const b of blocks) {
    const kept = b.targets.filter((t) => t.target).length;
    const dropped = b.targets.filter((t) => t.droppedBy !== undefined).length;
    const where = `${b.description} (line ${b.template.source.line})`;
    if (!b.reported) {
      lines.push(`  ${where}: no answer within ${waitedMs / 1000}s`);
      continue;
    }
    lines.push(`  ${where}: ${b.targets.length} found, ${kept} scraped${dropped ? `, ${dropped} dropped by relabel_configs` : ''}`);
    for (const t of b.targets) {
      lines.push(`    ${t.before.get('__address__') ?? '(no address)'}`);
      lines.push(`      before: ${labelSetText(t.before)}`);
      if (t.droppedBy !== undefined) {
        lines.push(`      dropped by relabel_configs rule ${t.droppedBy + 1}`);
        continue;
      }
      if (t.after) lines.push(`      after:  ${labelSetText(t.after)}`);
      if (t.problem) lines.push(`      not scraped: ${t.problem}`);
      const c = t.target;
      if (!c) continue;
      const tags = Object.entries(c.goTags).map(([k, v]) => `${k}=${v}`).join(' ');
      const shard = owner(c);
      lines.push(`      -> ${c.baseUrl}  ${c.enabledTypes.join(', ')}; service=${c.service}${c.env ? ` env=${c.env}` : ''}${c.version ? ` version=${c.version}` : ''}${tags ? `; tags ${tags}` : ''}${c.tenantId ? `; tenant ${c.tenantId}` : ''}${shard ? `  -- ${shard}` : ''}`);
      if (c.credentialsRefused) lines.push(`      ${c.credentialsRefused}`);
    }
  }
  return lines;
}
