// [[inputs.profile]] and its [[inputs.profile.go]] blocks: a target each, or a template with a discovery.

import { LIMITS } from '../../core/limits.js';
import { BUILTIN_TYPE_NAMES, DEFAULT_TYPE_NAMES, isBuiltinType, type ProfileTypeName, type ProfileTypeSpec } from '../../profile/types.js';
import { formatDuration } from '../duration.js';
import { expandEnv } from '../env.js';
import { displayPath, joinPath } from '../key-lines.js';
import { DELTA_SOURCES, type DeltaSource, type GoTargetConfig } from '../types.js';
import { readCpuBudget, readScrapeBudgets, SCRAPE_BUDGET_KEYS } from './budgets.js';
import { checkShipNames, readCustomTypes } from './custom-types.js';
import { readSchedule, windowTypesScheduled } from './schedule.js';
import { readTrigger } from './trigger.js';
import { SD_KINDS, validateDiscovery } from './discovery.js';
import { checkKeys, Ctx, datakitOnly, describe, isTable, type KeySpec, OURS, readBool, readDuration, readPositiveInt, readString, readStringTable, suggest, type Table, tablesOf } from './readers.js';
import { readRelabelConfigs } from './relabel.js';
import { readTargetAuth } from './target-auth.js';
import { validateTlsKeys } from './tls.js';
import { type ParsedUrl, parseHttpUrl } from './url.js';

const PROFILE_INPUT_KEYS: Record<string, KeySpec> = {
  go: OURS,
  tags: OURS,
  body_size_limit_mb: OURS,
  generate_metrics: OURS,
  endpoints: datakitOnly('DataKit push-mode intake paths; this collector only pulls'),
  election: datakitOnly('DataKit cluster election; not used here'),
  io_config: datakitOnly("DataKit's upload cache; outputs have their own queues here"),
  kubernetes: datakitOnly('DataKit Kubernetes pull mode; not supported yet'),
  kubernetes_max_concurrency: datakitOnly('DataKit Kubernetes pull mode; not supported yet'),
  kubernetes_delta_cache_mb: datakitOnly('DataKit Kubernetes pull mode; not supported yet'),
  pyroscope: datakitOnly('DataKit receiving from Pyroscope agents; not a pull target'),
};

const GO_TARGET_KEYS: Record<string, KeySpec> = {
  url: OURS,
  interval: OURS,
  profile_duration: OURS,
  http_timeout: OURS,
  service: OURS,
  env: OURS,
  version: OURS,
  enabled_types: OURS,
  tags: OURS,
  tls_open: OURS,
  tls_ca: OURS,
  tls_cert: OURS,
  tls_key: OURS,
  insecure_skip_verify: OURS,
  cpu_budget: OURS,
  ...Object.fromEntries(SCRAPE_BUDGET_KEYS.map((k) => [k, OURS])),
  delta_source: OURS,
  custom: OURS,
  file_sd: OURS,
  http_sd: OURS,
  dns_sd: OURS,
  kubernetes_sd: OURS,
  schedule: OURS,
  schedule_spread: OURS,
  trigger: OURS,
  relabel_configs: OURS,
  basic_auth: OURS,
  bearer_token: OURS,
  bearer_token_file: OURS,
  tenant_id: OURS,
  allow_insecure_credentials: OURS,
};

/** A profile input without a service name gets this one (DataKit's own placeholder). */
export const DEFAULT_SERVICE = 'unnamed-service';

interface InputDefaults {
  readonly inputTags: Record<string, string>;
  readonly bodySizeLimitBytes: number;
  readonly generateMetrics: boolean;
}

/**
 * enabled_types: built-in types, and custom ones of this block (which are
 * scraped whether listed or not: listing one only places it).
 */
function readEnabledTypes(ctx: Ctx, t: Table, path: string, custom: readonly ProfileTypeSpec[]): ProfileTypeName[] {
  let enabledTypes: ProfileTypeName[] = [...DEFAULT_TYPE_NAMES];
  const customNames = custom.map((c) => c.name);
  const allowed = [...BUILTIN_TYPE_NAMES, ...customNames];
  const rawTypes = t.enabled_types;
  const typesPath = joinPath(path, 'enabled_types');
  if (rawTypes !== undefined) {
    if (!Array.isArray(rawTypes)) {
      ctx.error(typesPath, `must be an array of profile types like ["cpu", "heap"], got ${describe(rawTypes)}`);
    } else if (rawTypes.length === 0) {
      ctx.error(typesPath, `must list at least one of ${allowed.join(', ')} (leave it out to scrape ${DEFAULT_TYPE_NAMES.join(', ')})`);
    } else {
      enabledTypes = [];
      rawTypes.forEach((raw, i) => {
        const p = `${typesPath}[${i}]`;
        let v: unknown = raw;
        if (typeof raw === 'string') {
          try {
            v = expandEnv(raw, ctx.opts.env);
          } catch (err) {
            ctx.error(p, (err as Error).message);
            return;
          }
        }
        if (typeof v !== 'string') ctx.error(p, `must be a string, got ${describe(v)}`);
        else if (!isBuiltinType(v) && !customNames.includes(v)) ctx.error(p, `unknown profile type "${v}"${suggest(v, allowed)}; allowed: ${allowed.join(', ')} (or declare it in a [[inputs.profile.go.custom]] block)`);
        else if (enabledTypes.includes(v)) ctx.error(p, `"${v}" is listed twice`);
        else enabledTypes.push(v);
      });
    }
  }
  for (const name of customNames) if (!enabledTypes.includes(name)) enabledTypes.push(name);
  if (enabledTypes.includes('heap') && enabledTypes.includes('allocs')) {
    ctx.notice(typesPath, 'heap and allocs are both enabled: Go serves the same samples under both names (allocs only makes alloc_space the default), so each allocation is shipped twice, as memory and as allocs; keep one');
  }
  return enabledTypes;
}

/** delta_source: where heap, mutex and block deltas come from. */
function readDeltaSource(ctx: Ctx, t: Table, path: string, enabledTypes: readonly ProfileTypeName[]): DeltaSource {
  const v = readString(ctx, t, 'delta_source', path);
  const p = joinPath(path, 'delta_source');
  if (v === undefined) return 'auto';
  if (!(DELTA_SOURCES as readonly string[]).includes(v)) {
    ctx.error(p, `must be one of ${DELTA_SOURCES.map((x) => `"${x}"`).join(', ')}, got "${v}"${suggest(v, DELTA_SOURCES)}`);
    return 'auto';
  }
  if (v !== 'client' && !enabledTypes.some((x) => x === 'heap' || x === 'mutex' || x === 'block')) {
    ctx.notice(p, `"${v}" applies to heap, mutex and block (godeltaprof serves those three), and none of them is enabled`);
  }
  return v as DeltaSource;
}

function validateGoTarget(ctx: Ctx, t: Table, path: string, defaults: InputDefaults): GoTargetConfig | undefined {
  const before = ctx.issues.length;
  checkKeys(ctx, t, path, GO_TARGET_KEYS);
  const source = { file: ctx.opts.file, line: ctx.line(path) };

  // A block either names its target (url) or discovers targets (a *_sd table).
  const discovery = validateDiscovery(ctx, t, path);
  const isTemplate = discovery !== undefined || SD_KINDS.some((k) => t[k] !== undefined);
  const rawUrl = readString(ctx, t, 'url', path);
  let url: ParsedUrl | undefined;
  if (isTemplate) {
    if (t.url !== undefined) ctx.error(joinPath(path, 'url'), 'a block with a discovery (file_sd, http_sd, dns_sd, kubernetes_sd) takes its targets from it: remove url, or move it to a block of its own');
  } else if (rawUrl === undefined) {
    if (t.url === undefined) ctx.error(joinPath(path, 'url'), 'is required: the address of the Go service, like url = "http://127.0.0.1:6060" (or a discovery: file_sd, http_sd, dns_sd, kubernetes_sd)');
  } else {
    url = parseHttpUrl(ctx, rawUrl, joinPath(path, 'url'), '/debug/pprof');
  }

  // Read first: custom types with seconds hold a window, like cpu.
  const customBlocks = readCustomTypes(ctx, t, path);
  const customTypes = customBlocks.map((b) => b.spec);
  const intervalMs = readDuration(ctx, t, 'interval', path) ?? (t.interval === undefined ? LIMITS.defaultIntervalMs : undefined);
  if (intervalMs !== undefined && intervalMs < LIMITS.minIntervalMs) {
    ctx.error(
      joinPath(path, 'interval'),
      `must be at least ${formatDuration(LIMITS.minIntervalMs)}, got ${formatDuration(intervalMs)}: shorter intervals profile the service too often`,
    );
  }

  let profileDurationMs = readDuration(ctx, t, 'profile_duration', path);
  if (profileDurationMs === undefined && t.profile_duration === undefined && intervalMs !== undefined) {
    // Whole seconds, like a written one: Go's ?seconds= takes integers only.
    profileDurationMs = Math.min(LIMITS.defaultProfileDurationMs, Math.floor(intervalMs / 1000) * 1000 - 1000);
  }
  if (profileDurationMs !== undefined && t.profile_duration !== undefined) {
    const pdPath = joinPath(path, 'profile_duration');
    if (profileDurationMs < 1000) {
      ctx.error(pdPath, `must be at least 1s, got ${formatDuration(profileDurationMs)}`);
    } else if (profileDurationMs % 1000 !== 0) {
      ctx.error(pdPath, `must be whole seconds (Go's /debug/pprof/profile takes integer seconds and profiles for 30s on anything else), got ${formatDuration(profileDurationMs)}`);
    } else if (intervalMs !== undefined && profileDurationMs >= intervalMs && !windowTypesScheduled(t, customTypes)) {
      ctx.error(pdPath, `must be shorter than interval (${formatDuration(intervalMs)}), got ${formatDuration(profileDurationMs)}: the CPU window must end before the next scrape starts`);
    }
  }

  let httpTimeoutMs = readDuration(ctx, t, 'http_timeout', path);
  if (httpTimeoutMs === undefined && t.http_timeout === undefined && profileDurationMs !== undefined) {
    httpTimeoutMs = Math.max(profileDurationMs + LIMITS.httpTimeoutSlackMs, LIMITS.minHttpTimeoutMs);
  }
  if (httpTimeoutMs !== undefined && t.http_timeout !== undefined && profileDurationMs !== undefined && httpTimeoutMs <= profileDurationMs) {
    ctx.error(
      joinPath(path, 'http_timeout'),
      `must be longer than profile_duration (${formatDuration(profileDurationMs)}), got ${formatDuration(httpTimeoutMs)}: Go sends the CPU profile only after the whole window`,
    );
  }

  const service = readString(ctx, t, 'service', path);
  const env = readString(ctx, t, 'env', path) ?? '';
  const version = readString(ctx, t, 'version', path) ?? '';

  const enabledTypes = readEnabledTypes(ctx, t, path, customTypes);
  checkShipNames(ctx, enabledTypes, customBlocks);
  const deltaSource = readDeltaSource(ctx, t, path, enabledTypes);

  const goTags = readStringTable(ctx, t, 'tags', path);
  // A `service` tag written in either tags table is set explicitly and wins
  // over the placeholder; only with none at all is the placeholder used.
  const taggedService = goTags.service || defaults.inputTags.service;
  if ((service === undefined || service === '') && !taggedService) {
    ctx.notice(path, `service is not set: profiles are tagged service=${DEFAULT_SERVICE}; set service = "..." to name them`);
  }
  // A template's targets may be https (scheme from discovery), so its TLS keys count.
  const tls = url || isTemplate ? validateTlsKeys(ctx, t, path, url ? url.isHttps : true) : undefined;
  const relabelConfigs = readRelabelConfigs(ctx, t, path, isTemplate);
  const { auth, tenantId, allowInsecureCredentials } = readTargetAuth(ctx, t, path, url?.basicAuth);
  if (allowInsecureCredentials !== undefined && !isTemplate) {
    ctx.notice(joinPath(path, 'allow_insecure_credentials'), 'has an effect only on a block with a discovery: the credentials of a block with url go to that url as written');
  }
  const cpuBudget = readCpuBudget(ctx, t, path, profileDurationMs);
  const scrapeBudgets = readScrapeBudgets(ctx, t, path, enabledTypes);
  const scheduled = readSchedule(ctx, t, path, { enabledTypes, profileDurationMs, customTypes });
  const trigger = readTrigger(ctx, t, path, enabledTypes);

  if (ctx.issues.length > before || (url === undefined && !discovery) || intervalMs === undefined || profileDurationMs === undefined || httpTimeoutMs === undefined) {
    return undefined;
  }
  return {
    source,
    baseUrl: url ? url.baseUrl : '',
    ...(discovery ? { discovery } : {}),
    ...(cpuBudget ? { cpuBudget } : {}),
    ...(Object.keys(scrapeBudgets).length > 0 ? { scrapeBudgets } : {}),
    ...scheduled,
    ...(trigger ? { trigger } : {}),
    ...(auth ? { auth } : {}),
    ...(tenantId ? { tenantId } : {}),
    ...(allowInsecureCredentials !== undefined ? { allowInsecureCredentials } : {}),
    ...(relabelConfigs && relabelConfigs.length > 0 ? { relabelConfigs } : {}),
    intervalMs,
    profileDurationMs,
    httpTimeoutMs,
    service: service || taggedService || DEFAULT_SERVICE,
    env,
    version,
    enabledTypes,
    ...(customTypes.length > 0 ? { customTypes } : {}),
    deltaSource,
    inputTags: defaults.inputTags,
    goTags,
    bodySizeLimitBytes: defaults.bodySizeLimitBytes,
    generateMetrics: defaults.generateMetrics,
    ...(tls ? { tls } : {}),
  };
}

export function validateInputs(ctx: Ctx, root: Table): GoTargetConfig[] {
  const targets: GoTargetConfig[] = [];
  const inputs = root.inputs;
  if (inputs === undefined) return targets;
  if (!isTable(inputs)) {
    ctx.error('inputs', `must be a table ([[inputs.profile]]), got ${describe(inputs)}`);
    return targets;
  }
  // (Templates, blocks with a discovery, come back here too; the caller splits them.)
  for (const name of Object.keys(inputs)) {
    if (name !== 'profile') {
      const p = joinPath('inputs', name);
      ctx.ignored.push({ path: displayPath(p), line: ctx.line(p), why: 'not a profile input; this collector only runs [[inputs.profile]]' });
    }
  }
  for (const { table, path } of tablesOf(ctx, inputs.profile, 'inputs.profile', '[[inputs.profile]]')) {
    checkKeys(ctx, table, path, PROFILE_INPUT_KEYS);
    const inputTags = readStringTable(ctx, table, 'tags', path);
    // DataKit reads 0 or less as "no limit"; a profile body is always capped
    // here (a gzip bomb must not take the process down), so those files load
    // with the default cap and a notice.
    const rawLimit = table.body_size_limit_mb;
    const noLimit = (typeof rawLimit === 'number' || typeof rawLimit === 'bigint') && Number(rawLimit) <= 0 && Number.isInteger(Number(rawLimit));
    if (noLimit) {
      ctx.notice(
        joinPath(path, 'body_size_limit_mb'),
        `${String(rawLimit)} means "no limit" in DataKit; this collector always caps response bodies, so the default ${LIMITS.maxBodyBytes / 1048576} MiB applies`,
      );
    }
    const limitMb = noLimit ? undefined : readPositiveInt(ctx, table, 'body_size_limit_mb', path, 4096);
    const generateMetrics = readBool(ctx, table, 'generate_metrics', path) ?? true;
    const defaults: InputDefaults = {
      inputTags,
      bodySizeLimitBytes: limitMb !== undefined ? limitMb * 1024 * 1024 : LIMITS.maxBodyBytes,
      generateMetrics,
    };
    for (const go of tablesOf(ctx, table.go, joinPath(path, 'go'), '[[inputs.profile.go]]')) {
      const target = validateGoTarget(ctx, go.table, go.path, defaults);
      if (target) targets.push(target);
    }
  }
  return targets;
}
