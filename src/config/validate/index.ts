// Turns the parsed TOML tree into a typed Config. Every problem is collected
// (never the first one only), located by line and key path, and says what is
// allowed. Nothing is clamped: a value out of range is an error.
//
// One file per section (agent.ts, targets.ts with discovery.ts and
// budgets.ts, outputs.ts) on the readers of readers.ts, url.ts and tls.ts.

import type { ConfigIssue } from '../errors.js';
import type { Config } from '../types.js';
import { validateAgent } from './agent.js';
import { checkPyroscopeLabels, validateOutputs } from './outputs.js';
import { checkKeys, Ctx, type KeySpec, OURS, type Table, type ValidateOptions } from './readers.js';
import { validateInputs } from './targets.js';

export { DEFAULT_SERVICE } from './targets.js';
export type { ValidateOptions } from './readers.js';

const TOP_LEVEL: Record<string, KeySpec> = { agent: OURS, inputs: OURS, outputs: OURS };

export function validateConfig(root: Table, opts: ValidateOptions): { config?: Config; issues: ConfigIssue[] } {
  const ctx = new Ctx(opts);
  checkKeys(ctx, root, '', TOP_LEVEL);
  const agent = validateAgent(ctx, root);
  const blocks = validateInputs(ctx, root);
  const targets = blocks.filter((b) => !b.discovery);
  const templates = blocks.filter((b) => b.discovery);
  const { outputs, defaultOutput } = validateOutputs(ctx, root, agent);
  if (outputs.some((o) => o.kind === 'pyroscope')) checkPyroscopeLabels(ctx, blocks);
  if (blocks.length === 0 && !ctx.issues.some((i) => i.path.startsWith('inputs'))) {
    ctx.issues.push({
      file: opts.file,
      line: opts.lines.lineOf('inputs'),
      path: 'inputs.profile.go',
      message: 'no targets: add a [[inputs.profile.go]] block with url = "http://host:port" for each Go service to profile, or one with a discovery (file_sd, http_sd, dns_sd, kubernetes_sd)',
    });
  }
  if (ctx.issues.length > 0) return { issues: ctx.issues.sort((a, b) => a.line - b.line) };
  return {
    config: { file: opts.file, agent, targets, templates, outputs, defaultOutput, ignored: ctx.ignored, notices: ctx.notices },
    issues: [],
  };
}
