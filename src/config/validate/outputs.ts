// [[outputs.datakit]], [[outputs.datadog]], [[outputs.pyroscope]], [[outputs.otlp]] and
// [[outputs.file]], and the Pyroscope label limits of the targets' tags. What
// the network outputs share (deadline, TLS, secrets, auth) is in output-common.ts.

import { PYROSCOPE_MAX_LABELS, pyroscopeLabels } from '../../core/pyroscope-labels.js';
import { joinPath } from '../key-lines.js';
import type { AgentConfig, DatadogOutputConfig, DatakitOutputConfig, FileOutputConfig, GoTargetConfig, OtlpOutputConfig, OutputConfig, PyroscopeOutputConfig } from '../types.js';
import { datadogIntakeUrl, datadogSiteKind, DATADOG_DOMAINS, DATADOG_SITES } from './datadog-site.js';
import { AUTH_KEYS, NETWORK_OUTPUT_KEYS, readNetworkOutputCommon, readOutputAuth, readSecret } from './output-common.js';
import { checkKeys, Ctx, type KeySpec, OURS, describe, isTable, readString, suggest, type Table, tablesOf } from './readers.js';
import { parseHttpUrl } from './url.js';

const OUTPUT_KINDS = ['datakit', 'file', 'pyroscope', 'datadog', 'otlp'] as const;
const DATAKIT_OUTPUT_KEYS: Record<string, KeySpec> = { name: OURS, url: OURS, ...NETWORK_OUTPUT_KEYS };
const FILE_OUTPUT_KEYS: Record<string, KeySpec> = { name: OURS, dir: OURS };
const PYROSCOPE_OUTPUT_KEYS: Record<string, KeySpec> = { name: OURS, url: OURS, api: OURS, tenant_id: OURS, ...AUTH_KEYS, ...NETWORK_OUTPUT_KEYS };
const OTLP_OUTPUT_KEYS: Record<string, KeySpec> = { name: OURS, url: OURS, compression: OURS, tenant_id: OURS, ...AUTH_KEYS, ...NETWORK_OUTPUT_KEYS };
const DATADOG_OUTPUT_KEYS: Record<string, KeySpec> = { name: OURS, url: OURS, site: OURS, api_key: OURS, api_key_file: OURS, ...NETWORK_OUTPUT_KEYS };
const PYROSCOPE_APIS = ['push', 'ingest'] as const;
const OTLP_COMPRESSIONS = ['gzip', 'none'] as const;

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
  const auth = readOutputAuth(ctx, t, path, 'pyroscope');
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

/** A URL that is only a host: the output needs the whole endpoint. */
function hasNoPath(baseUrl: string): boolean {
  return new URL(baseUrl).pathname === '/';
}

function validateOtlpOutput(ctx: Ctx, t: Table, path: string, name: string): OtlpOutputConfig | undefined {
  const before = ctx.issues.length;
  checkKeys(ctx, t, path, OTLP_OUTPUT_KEYS);
  const urlPath = joinPath(path, 'url');
  const rawUrl = readString(ctx, t, 'url', path);
  const example = '"http://127.0.0.1:4318/v1development/profiles" (the OpenTelemetry Collector) or "http://127.0.0.1:4040/v1development/profiles" (Pyroscope)';
  if (rawUrl === undefined && t.url === undefined) ctx.error(urlPath, `is required: the OTLP/HTTP profiles endpoint, like url = ${example}`);
  const url = rawUrl === undefined ? undefined : parseHttpUrl(ctx, rawUrl, urlPath, null);
  if (url?.basicAuth) ctx.error(urlPath, 'must not carry user:password; use [outputs.otlp.basic_auth]');
  // OTLP/HTTP exporters add /v1development/profiles only to a base endpoint
  // shared by all signals; this url is the profiles endpoint itself.
  if (url && hasNoPath(url.baseUrl)) ctx.error(urlPath, `has no path: write the whole endpoint, like ${example}`);
  const compression = readString(ctx, t, 'compression', path) ?? 'gzip';
  if (!(OTLP_COMPRESSIONS as readonly string[]).includes(compression)) {
    ctx.error(joinPath(path, 'compression'), `must be "gzip" or "none", got "${compression}"${suggest(compression, OTLP_COMPRESSIONS)}`);
  }
  const tenantId = readString(ctx, t, 'tenant_id', path) ?? '';
  const common = readNetworkOutputCommon(ctx, t, path, url?.isHttps ?? false);
  const auth = readOutputAuth(ctx, t, path, 'otlp');
  if (ctx.issues.length > before || !url || rawUrl === undefined) return undefined;
  return {
    kind: 'otlp',
    name,
    source: { file: ctx.opts.file, line: ctx.line(path) },
    url: url.baseUrl,
    compression: compression as OtlpOutputConfig['compression'],
    tenantId,
    ...(auth ? { auth } : {}),
    ...common,
  };
}

/** A Datadog Agent (`url`) or the agentless intake of a `site` with its API key: exactly one of the two. */
function validateDatadogOutput(ctx: Ctx, t: Table, path: string, name: string): DatadogOutputConfig | undefined {
  const before = ctx.issues.length;
  checkKeys(ctx, t, path, DATADOG_OUTPUT_KEYS);
  const urlPath = joinPath(path, 'url');
  const sitePath = joinPath(path, 'site');
  const rawUrl = readString(ctx, t, 'url', path);
  const site = readString(ctx, t, 'site', path);
  const key = readSecret(ctx, t, 'api_key', path);
  const keyPath = joinPath(path, key?.from !== undefined || t.api_key_file !== undefined ? 'api_key_file' : 'api_key');
  const hasUrl = t.url !== undefined;
  const hasSite = t.site !== undefined;
  if (hasUrl && hasSite) ctx.error(sitePath, 'set url (a Datadog Agent) or site (the agentless intake), not both');
  if (!hasUrl && !hasSite) {
    ctx.error(urlPath, 'is required: url for a Datadog Agent, like url = "http://127.0.0.1:8126/profiling/v1/input", or site and api_key_file for the agentless intake, like site = "datadoghq.eu"');
  }
  if (key && key.value.trim() === '') ctx.error(keyPath, key.from ? `"${key.from}" is empty` : 'must not be empty');
  let url: string | undefined;
  let isHttps = false;
  let basic: { username: string; password: string } | undefined;
  if (hasUrl && !hasSite && rawUrl !== undefined) {
    const u = parseHttpUrl(ctx, rawUrl, urlPath, null);
    if (u && hasNoPath(u.baseUrl)) ctx.error(urlPath, 'has no path: write the Agent\'s whole intake URL, like "http://127.0.0.1:8126/profiling/v1/input"');
    // An Agent adds its own key; dd-trace-go sends none to it either.
    if (key) ctx.error(keyPath, 'is for the agentless intake (site): a Datadog Agent adds its own API key; remove it, or write site instead of url');
    url = u?.baseUrl;
    isHttps = u?.isHttps ?? false;
    basic = u?.basicAuth;
  }
  if (hasSite && !hasUrl && site !== undefined) {
    const kind = datadogSiteKind(site);
    if (kind === 'foreign') {
      ctx.error(sitePath, `"${site}" is not a Datadog site${suggest(site, DATADOG_SITES)}; the sites are ${DATADOG_SITES.join(', ')} (or a region under ${DATADOG_DOMAINS.join(', ')})`);
    } else if (kind === 'region') {
      ctx.notice(sitePath, `"${site}" is not among the Datadog sites this collector knows (${DATADOG_SITES.join(', ')}); profiles go to ${datadogIntakeUrl(site)}`);
    }
    if (t.api_key === undefined && t.api_key_file === undefined) {
      ctx.error(joinPath(path, 'api_key_file'), 'is required with site: the intake refuses an upload without an API key (api_key_file = "/etc/collector/dd-api-key", or api_key = "${DD_API_KEY}")');
    }
    url = datadogIntakeUrl(site);
    isHttps = true;
  }
  const common = readNetworkOutputCommon(ctx, t, path, isHttps);
  if (ctx.issues.length > before || url === undefined) return undefined;
  return {
    kind: 'datadog',
    name,
    source: { file: ctx.opts.file, line: ctx.line(path) },
    url,
    ...(hasSite && site !== undefined ? { site } : {}),
    ...(hasSite && key ? { apiKey: key.value, ...(key.from ? { apiKeyFrom: key.from } : {}) } : {}),
    ...(basic ? { auth: { kind: 'basic' as const, ...basic } } : {}),
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
    const plan = pyroscopeLabels(tags, 'memory', true);
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
    ctx.error('outputs', `must be a table of output kinds ([[outputs.file]], [[outputs.datakit]], [[outputs.datadog]], [[outputs.pyroscope]], [[outputs.otlp]]), got ${describe(raw)}`);
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
  for (const { table: t, path } of tablesOf(ctx, table.otlp, 'outputs.otlp', '[[outputs.otlp]]')) {
    const out = validateOtlpOutput(ctx, t, path, nameOf(t, path, 'otlp'));
    if (out) outputs.push(out);
  }
  for (const { table: t, path } of tablesOf(ctx, table.datadog, 'outputs.datadog', '[[outputs.datadog]]')) {
    const out = validateDatadogOutput(ctx, t, path, nameOf(t, path, 'datadog'));
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
    ctx.error('outputs', 'lists no output (only empty arrays): add an [[outputs.file]], [[outputs.datakit]], [[outputs.datadog]], [[outputs.pyroscope]] or [[outputs.otlp]] block, or leave outputs out for the default file output');
  }
  return { outputs, defaultOutput: false };
}
