// [[outputs.datakit]], [[outputs.pyroscope]] and [[outputs.file]], their secrets, and the Pyroscope label limits of the targets' tags.

import { readFileSync, statSync } from 'node:fs';
import { LIMITS } from '../../core/limits.js';
import { PYROSCOPE_MAX_LABELS, pyroscopeLabels } from '../../core/pyroscope-labels.js';
import { joinPath } from '../key-lines.js';
import type { AgentConfig, DatakitOutputConfig, FileOutputConfig, GoTargetConfig, OutputAuth, OutputConfig, PyroscopeOutputConfig, TlsConfig } from '../types.js';
import { checkKeys, Ctx, describe, isTable, type KeySpec, OURS, readDuration, readPositiveInt, readString, readStringTable, suggest, type Table, tablesOf } from './readers.js';
import { validateTlsKeys } from './tls.js';
import { parseHttpUrl } from './url.js';

const OUTPUT_KINDS = ['datakit', 'file', 'pyroscope'] as const;
/** Keys every network output takes: deadline, headers, concurrency, TLS. */
const NETWORK_OUTPUT_KEYS: Record<string, KeySpec> = {
  timeout: OURS,
  headers: OURS,
  concurrency: OURS,
  tls_ca: OURS,
  tls_cert: OURS,
  tls_key: OURS,
  insecure_skip_verify: OURS,
};
const DATAKIT_OUTPUT_KEYS: Record<string, KeySpec> = { name: OURS, url: OURS, ...NETWORK_OUTPUT_KEYS };
const FILE_OUTPUT_KEYS: Record<string, KeySpec> = { name: OURS, dir: OURS };
const PYROSCOPE_OUTPUT_KEYS: Record<string, KeySpec> = {
  name: OURS,
  url: OURS,
  api: OURS,
  tenant_id: OURS,
  basic_auth: OURS,
  bearer_token: OURS,
  bearer_token_file: OURS,
  ...NETWORK_OUTPUT_KEYS,
};
const BASIC_AUTH_KEYS: Record<string, KeySpec> = { username: OURS, password: OURS, password_file: OURS };
const PYROSCOPE_APIS = ['push', 'ingest'] as const;

/** A secret file is a token or a password, never more. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/**
 * A secret from `key` or from the file named by `key_file` (one of the two).
 * The file is read now, so --check reports a missing one; its trailing
 * newline is dropped. The value never appears in a message.
 */
function readSecret(ctx: Ctx, t: Table, key: string, path: string): { value: string; from?: string } | undefined {
  const inline = readString(ctx, t, key, path);
  const file = readString(ctx, t, `${key}_file`, path);
  if (inline !== undefined && file !== undefined) {
    ctx.error(joinPath(path, `${key}_file`), `set ${key} or ${key}_file, not both`);
    return undefined;
  }
  if (file !== undefined) {
    try {
      // A device, FIFO or huge file named by mistake (/dev/zero, /dev/stdin)
      // would hang the loader or exhaust memory: secrets come from small regular files.
      const st = statSync(file);
      if (!st.isFile() || st.size > MAX_SECRET_FILE_BYTES) {
        ctx.error(joinPath(path, `${key}_file`), `cannot read "${file}": ${st.isFile() ? `larger than ${MAX_SECRET_FILE_BYTES / 1024} KiB` : 'not a regular file'}`);
        return undefined;
      }
      return { value: readFileSync(file, 'utf8').replace(/\r?\n$/, ''), from: file };
    } catch (err) {
      ctx.error(joinPath(path, `${key}_file`), `cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return undefined;
    }
  }
  return inline === undefined ? undefined : { value: inline };
}

interface NetworkOutputCommon {
  readonly timeoutMs: number;
  readonly headers: Record<string, string>;
  readonly concurrency: number;
  readonly tls?: TlsConfig;
}

function readNetworkOutputCommon(ctx: Ctx, t: Table, path: string, isHttps: boolean): NetworkOutputCommon {
  const timeoutMs = readDuration(ctx, t, 'timeout', path) ?? LIMITS.outputTimeoutMs;
  if (timeoutMs <= 0) ctx.error(joinPath(path, 'timeout'), 'must be more than 0s');
  const headers = readStringTable(ctx, t, 'headers', path);
  const concurrency = readPositiveInt(ctx, t, 'concurrency', path, 64) ?? LIMITS.outputConcurrency;
  const tls = validateTlsKeys(ctx, t, path, isHttps);
  return { timeoutMs, headers, concurrency, ...(tls ? { tls } : {}) };
}

function validatePyroscopeOutput(ctx: Ctx, t: Table, path: string, name: string): PyroscopeOutputConfig | undefined {
  const before = ctx.issues.length;
  checkKeys(ctx, t, path, PYROSCOPE_OUTPUT_KEYS);
  const rawUrl = readString(ctx, t, 'url', path);
  if (rawUrl === undefined && t.url === undefined) {
    ctx.error(joinPath(path, 'url'), 'is required: the Pyroscope server, like url = "http://127.0.0.1:4040"');
  }
  const url = rawUrl === undefined ? undefined : parseHttpUrl(ctx, rawUrl, joinPath(path, 'url'), null);
  if (url?.basicAuth) ctx.error(joinPath(path, 'url'), 'must not carry user:password; use [outputs.pyroscope.basic_auth]');
  const api = readString(ctx, t, 'api', path) ?? 'push';
  if (!(PYROSCOPE_APIS as readonly string[]).includes(api)) {
    ctx.error(joinPath(path, 'api'), `must be "push" (connect PusherService/Push) or "ingest" (legacy /ingest), got "${api}"${suggest(api, PYROSCOPE_APIS)}`);
  }
  const tenantId = readString(ctx, t, 'tenant_id', path) ?? '';
  const common = readNetworkOutputCommon(ctx, t, path, url?.isHttps ?? false);
  let auth: OutputAuth | undefined;
  const bearer = readSecret(ctx, t, 'bearer_token', path);
  if (t.basic_auth !== undefined) {
    const bpath = joinPath(path, 'basic_auth');
    if (!isTable(t.basic_auth)) {
      ctx.error(bpath, `must be a table ([outputs.pyroscope.basic_auth] with username and password), got ${describe(t.basic_auth)}`);
    } else {
      const b = t.basic_auth;
      checkKeys(ctx, b, bpath, BASIC_AUTH_KEYS);
      const username = readString(ctx, b, 'username', bpath);
      const password = readSecret(ctx, b, 'password', bpath);
      if (username === undefined) ctx.error(joinPath(bpath, 'username'), 'is required with basic_auth');
      if (password === undefined && b.password === undefined && b.password_file === undefined) {
        ctx.error(joinPath(bpath, 'password'), 'is required with basic_auth (or password_file)');
      }
      if (username !== undefined && password !== undefined) {
        auth = { kind: 'basic', username, password: password.value, ...(password.from ? { from: password.from } : {}) };
      }
    }
  }
  if (bearer) {
    if (auth) ctx.error(joinPath(path, 'bearer_token'), 'set basic_auth or bearer_token, not both');
    else auth = { kind: 'bearer', token: bearer.value, ...(bearer.from ? { from: bearer.from } : {}) };
  }
  if (ctx.issues.length > before || !url || rawUrl === undefined) return undefined;
  return {
    kind: 'pyroscope',
    name,
    source: { file: ctx.opts.file, line: ctx.line(path) },
    url: url.baseUrl.replace(/\/+$/, ''),
    api: api as PyroscopeOutputConfig['api'],
    tenantId,
    ...(auth ? { auth } : {}),
    ...common,
  };
}

/**
 * With a Pyroscope output, each target's tags become labels: more than
 * Pyroscope accepts, or two tags that become the same label name, would be
 * refused on every push, so they are config errors now.
 */
export function checkPyroscopeLabels(ctx: Ctx, targets: readonly GoTargetConfig[]): void {
  for (const t of targets) {
    const tags: Record<string, string> = { host: '', instance: '', ...t.inputTags, service: t.service };
    if (t.env !== '') tags.env = t.env;
    if (t.version !== '') tags.version = t.version;
    Object.assign(tags, t.goTags);
    const plan = pyroscopeLabels(tags, 'heap');
    const where = { file: ctx.opts.file, line: t.source.line, path: 'inputs.profile.go.tags' };
    if (plan.labels.length > PYROSCOPE_MAX_LABELS) {
      ctx.issues.push({
        ...where,
        message: `this target's profiles would carry ${plan.labels.length} Pyroscope labels (__name__, service_name, __delta__, host, instance, env, version and the tags); Pyroscope accepts at most ${PYROSCOPE_MAX_LABELS}: drop ${plan.labels.length - PYROSCOPE_MAX_LABELS} tag(s)`,
      });
    }
    for (const [a, b, name] of plan.collisions) {
      ctx.issues.push({
        ...where,
        message: name.startsWith('__')
          ? `tag "${b}" would become the reserved Pyroscope label "${name}"; rename it`
          : `tags "${a}" and "${b}" would both become the Pyroscope label "${name}" (label names allow only [A-Za-z0-9_.]); rename one`,
      });
    }
    for (const [from, to] of plan.renamed) {
      ctx.notices.push({ path: 'inputs.profile.go.tags', line: t.source.line, message: `tag "${from}" is sent to Pyroscope as label "${to}" (label names allow only [A-Za-z0-9_.])` });
    }
  }
}

export function validateOutputs(ctx: Ctx, root: Table, agent: AgentConfig): { outputs: OutputConfig[]; defaultOutput: boolean } {
  const raw = root.outputs;
  const outputs: OutputConfig[] = [];
  if (raw !== undefined && !isTable(raw)) {
    ctx.error('outputs', `must be a table of output kinds ([[outputs.file]], [[outputs.datakit]], [[outputs.pyroscope]]), got ${describe(raw)}`);
    return { outputs, defaultOutput: false };
  }
  const table = raw ?? {};
  const written = Object.keys(table);
  for (const kind of written) {
    if (!(OUTPUT_KINDS as readonly string[]).includes(kind)) {
      ctx.error(joinPath('outputs', kind), `unknown output kind "${kind}"${suggest(kind, OUTPUT_KINDS)}; allowed: ${OUTPUT_KINDS.join(', ')}`);
    }
  }
  const counts = new Map<string, number>();
  const nameOf = (t: Table, path: string, kind: string): string => {
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    return readString(ctx, t, 'name', path) || (n === 1 ? kind : `${kind}-${n}`);
  };
  for (const { table: t, path } of tablesOf(ctx, table.datakit, 'outputs.datakit', '[[outputs.datakit]]')) {
    checkKeys(ctx, t, path, DATAKIT_OUTPUT_KEYS);
    const name = nameOf(t, path, 'datakit');
    const rawUrl = readString(ctx, t, 'url', path);
    if (rawUrl === undefined && t.url === undefined) {
      ctx.error(joinPath(path, 'url'), 'is required: the intake URL, like url = "http://127.0.0.1:9529/profiling/v1/input"');
    }
    const url = rawUrl === undefined ? undefined : parseHttpUrl(ctx, rawUrl, joinPath(path, 'url'), null);
    const common = readNetworkOutputCommon(ctx, t, path, url?.isHttps ?? false);
    if (url) {
      // user:password in the URL is sent as basic auth, and never shown.
      const out: DatakitOutputConfig = {
        kind: 'datakit',
        name,
        source: { file: ctx.opts.file, line: ctx.line(path) },
        url: url.baseUrl,
        ...(url.basicAuth ? { auth: { kind: 'basic' as const, ...url.basicAuth } } : {}),
        ...common,
      };
      outputs.push(out);
    }
  }
  for (const { table: t, path } of tablesOf(ctx, table.pyroscope, 'outputs.pyroscope', '[[outputs.pyroscope]]')) {
    const out = validatePyroscopeOutput(ctx, t, path, nameOf(t, path, 'pyroscope'));
    if (out) outputs.push(out);
  }
  for (const { table: t, path } of tablesOf(ctx, table.file, 'outputs.file', '[[outputs.file]]')) {
    checkKeys(ctx, t, path, FILE_OUTPUT_KEYS);
    const name = nameOf(t, path, 'file');
    const dir = readString(ctx, t, 'dir', path) ?? `${agent.dataDir}/profiles`;
    if (dir === '') ctx.error(joinPath(path, 'dir'), 'must not be empty');
    const out: FileOutputConfig = { kind: 'file', name, source: { file: ctx.opts.file, line: ctx.line(path) }, dir };
    outputs.push(out);
  }
  const seen = new Map<string, OutputConfig>();
  for (const o of outputs) {
    const prev = seen.get(o.name);
    if (prev) {
      ctx.issues.push({
        file: ctx.opts.file,
        line: o.source.line,
        path: `outputs.${o.kind}.name`,
        message: `output name "${o.name}" is already used by the output on line ${prev.source.line}; give each output its own name`,
      });
    }
    seen.set(o.name, o);
  }
  if (written.length === 0) {
    const dflt: FileOutputConfig = { kind: 'file', name: 'file', source: { file: ctx.opts.file, line: 1 }, dir: `${agent.dataDir}/profiles` };
    return { outputs: [dflt], defaultOutput: true };
  }
  // `file = []` names output kinds but no output: every profile would be dropped.
  if (outputs.length === 0 && !ctx.issues.some((i) => i.path.startsWith('outputs'))) {
    ctx.error('outputs', 'lists no output (only empty arrays): add an [[outputs.file]], [[outputs.datakit]] or [[outputs.pyroscope]] block, or leave outputs out for the default file output');
  }
  return { outputs, defaultOutput: false };
}
