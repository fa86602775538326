// Turns the parsed TOML tree into a typed Config. Every problem is collected
// (never the first one only), located by line and key path, and says what is
// allowed. Nothing is clamped: a value out of range is an error.

import { LIMITS } from '../core/limits.js';
import { PROFILE_TYPE_NAMES, isProfileTypeName, type ProfileTypeName } from '../profile/types.js';
import { formatDuration, parseGoDuration } from './duration.js';
import { expandEnv, type Env } from './env.js';
import type { ConfigIssue } from './errors.js';
import { displayPath, joinPath, type KeyLines } from './key-lines.js';
import {
  LOG_LEVELS,
  type AgentConfig,
  type Config,
  type CpuBudgetConfig,
  type ScrapeBudgetConfig,
  type DiscoveryConfig,
  type ShardConfig,
  type ConfigNotice,
  type DatakitOutputConfig,
  type FileOutputConfig,
  type GoTargetConfig,
  type IgnoredKey,
  type LogLevel,
  type OutputAuth,
  type OutputConfig,
  type PyroscopeOutputConfig,
  type TlsConfig,
} from './types.js';
import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { PYROSCOPE_MAX_LABELS, pyroscopeLabels } from '../core/pyroscope-labels.js';
import { defaultWorkerCount } from '../core/limits.js';

type Table = Record<string, unknown>;

export interface ValidateOptions {
  readonly file: string;
  readonly lines: KeyLines;
  readonly env: Env;
  /** The OS host name, the default of [agent] hostname. */
  readonly osHostname: string;
}

/** How a key is known: ours (validated), or DataKit's with no meaning here. */
type KeySpec = { readonly kind: 'ours' } | { readonly kind: 'ignored'; readonly why: string };
const OURS: KeySpec = { kind: 'ours' };
const datakitOnly = (why: string): KeySpec => ({ kind: 'ignored', why });

const AGENT_KEYS: Record<string, KeySpec> = {
  hostname: OURS,
  listen: OURS,
  data_dir: OURS,
  spool_max_bytes: OURS,
  spool_max_age: OURS,
  shutdown_grace: OURS,
  profile_workers: OURS,
  shard: OURS,
  log_level: OURS,
};

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
  goroutine_budget: OURS,
  heap_budget: OURS,
  mutex_budget: OURS,
  block_budget: OURS,
  file_sd: OURS,
  http_sd: OURS,
  dns_sd: OURS,
  kubernetes_sd: OURS,
};

const SD_KINDS = ['file_sd', 'http_sd', 'dns_sd', 'kubernetes_sd'] as const;
const FILE_SD_KEYS: Record<string, KeySpec> = { files: OURS, refresh_interval: OURS };
const HTTP_SD_KEYS: Record<string, KeySpec> = { url: OURS, refresh_interval: OURS, timeout: OURS };
const DNS_SD_KEYS: Record<string, KeySpec> = { names: OURS, type: OURS, port: OURS, refresh_interval: OURS, servers: OURS };
const KUBERNETES_SD_KEYS: Record<string, KeySpec> = {
  api_server: OURS,
  kubeconfig: OURS,
  namespaces: OURS,
  bearer_token_file: OURS,
  tls_open: OURS,
  tls_ca: OURS,
  tls_cert: OURS,
  tls_key: OURS,
  insecure_skip_verify: OURS,
};

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

/** A profile input without a service name gets this one (DataKit's own placeholder). */
export const DEFAULT_SERVICE = 'unnamed-service';

class Ctx {
  readonly issues: ConfigIssue[] = [];
  readonly ignored: IgnoredKey[] = [];
  readonly notices: ConfigNotice[] = [];

  constructor(readonly opts: ValidateOptions) {}

  line(path: string): number {
    return this.opts.lines.lineOf(path);
  }

  error(path: string, message: string): void {
    this.issues.push({ file: this.opts.file, line: this.line(path), path: displayPath(path), message });
  }

  notice(path: string, message: string): void {
    this.notices.push({ path: displayPath(path), line: this.line(path), message });
  }
}

/** A wrong value as the user wrote it where that is short (a string, a number), else its kind. */
function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return describe(v);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'number' || typeof v === 'bigint') return Number.isInteger(Number(v)) ? 'an integer' : 'a float';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date || (typeof v === 'object' && v !== null && 'toISOString' in v)) return 'a date-time';
  if (typeof v === 'object' && v !== null) return 'a table';
  return typeof v;
}

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !('toISOString' in v);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

function suggest(word: string, options: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.max(2, Math.floor(word.length / 3));
  for (const o of options) {
    // The distance is at least the length difference: skipping those keeps a
    // megabyte-long key from costing seconds (length × option) to refuse.
    if (Math.abs(word.length - o.length) > limit) continue;
    const dist = editDistance(word.toLowerCase(), o.toLowerCase());
    if (dist < bestD) {
      best = o;
      bestD = dist;
    }
  }
  return best !== undefined && bestD <= limit ? ` (did you mean "${best}"?)` : '';
}

/** Reports unknown keys; records DataKit-only keys as ignored. */
function checkKeys(ctx: Ctx, table: Table, path: string, known: Record<string, KeySpec>): void {
  const names = Object.keys(known);
  for (const key of Object.keys(table)) {
    // Own entries only: `valueOf = 1` must not pass as a known key.
    const spec = Object.hasOwn(known, key) ? known[key] : undefined;
    const keyPath = joinPath(path, key);
    if (spec === undefined) {
      ctx.error(keyPath, `unknown key "${key}"${suggest(key, names)}; allowed here: ${names.join(', ')}`);
    } else if (spec.kind === 'ignored') {
      ctx.ignored.push({ path: displayPath(keyPath), line: ctx.line(keyPath), why: spec.why });
    }
  }
}

function readString(ctx: Ctx, table: Table, key: string, path: string): string | undefined {
  const v = table[key];
  if (v === undefined) return undefined;
  const keyPath = joinPath(path, key);
  if (typeof v !== 'string') {
    ctx.error(keyPath, `must be a string, got ${describe(v)}`);
    return undefined;
  }
  try {
    return expandEnv(v, ctx.opts.env);
  } catch (err) {
    ctx.error(keyPath, (err as Error).message);
    return undefined;
  }
}

function readBool(ctx: Ctx, table: Table, key: string, path: string): boolean | undefined {
  const v = table[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') {
    ctx.error(joinPath(path, key), `must be true or false, got ${describe(v)}`);
    return undefined;
  }
  return v;
}

function readPositiveInt(ctx: Ctx, table: Table, key: string, path: string, max: number): number | undefined {
  const v = table[key];
  if (v === undefined) return undefined;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
    ctx.error(joinPath(path, key), `must be a whole number from 1 to ${max}, got ${shown(v)}`);
    return undefined;
  }
  return n;
}

function readDuration(ctx: Ctx, table: Table, key: string, path: string): number | undefined {
  const v = table[key];
  if (v === undefined) return undefined;
  const keyPath = joinPath(path, key);
  if (typeof v !== 'string') {
    const hint = typeof v === 'number' || typeof v === 'bigint' ? ` (write "${String(v)}s" for seconds)` : '';
    ctx.error(keyPath, `must be a Go duration string like "10s" or "1m30s", got ${describe(v)}${hint}`);
    return undefined;
  }
  try {
    return parseGoDuration(expandEnv(v, ctx.opts.env));
  } catch (err) {
    ctx.error(keyPath, `${(err as Error).message}; write a Go duration like "10s", "1m30s" or "500ms"`);
    return undefined;
  }
}

function readStringTable(ctx: Ctx, table: Table, key: string, path: string): Record<string, string> {
  const v = table[key];
  if (v === undefined) return {};
  const keyPath = joinPath(path, key);
  if (!isTable(v)) {
    ctx.error(keyPath, `must be a table of strings like [${displayPath(keyPath)}] with name = "value" lines, got ${describe(v)}`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    const p = joinPath(keyPath, k);
    if (k === '') {
      ctx.error(p, 'a tag name must not be empty');
      continue;
    }
    if (typeof val !== 'string') {
      ctx.error(p, `must be a string, got ${describe(val)}${typeof val === 'number' || typeof val === 'boolean' ? ` (write "${String(val)}")` : ''}`);
      continue;
    }
    const s = readString(ctx, v, k, keyPath);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

/** `[[x]]` arrays; a single `[x]` table is taken as one element. */
function tablesOf(ctx: Ctx, v: unknown, path: string, write: string): Array<{ table: Table; path: string }> {
  if (v === undefined) return [];
  if (isTable(v)) return [{ table: v, path }];
  if (Array.isArray(v)) {
    const out: Array<{ table: Table; path: string }> = [];
    v.forEach((el, i) => {
      const p = `${path}[${i}]`;
      if (isTable(el)) out.push({ table: el, path: p });
      else ctx.error(p, `must be a table (write ${write}), got ${describe(el)}`);
    });
    return out;
  }
  ctx.error(path, `must be a table (write ${write}), got ${describe(v)}`);
  return [];
}

function validateAgent(ctx: Ctx, root: Table): AgentConfig {
  const path = 'agent';
  const raw = root.agent;
  let t: Table = {};
  if (raw !== undefined) {
    if (isTable(raw)) t = raw;
    else ctx.error(path, `must be a table ([agent]), got ${describe(raw)}`);
  }
  checkKeys(ctx, t, path, AGENT_KEYS);
  const hostname = readString(ctx, t, 'hostname', path) || ctx.opts.osHostname;
  const listen = readString(ctx, t, 'listen', path) ?? '127.0.0.1:9466';
  if (listen !== '' && !isHostPort(listen)) {
    ctx.error(joinPath(path, 'listen'), `must be "host:port" (e.g. "127.0.0.1:9466") or "" to turn the HTTP server off, got "${listen}"`);
  }
  const dataDir = readString(ctx, t, 'data_dir', path) ?? 'data';
  if (dataDir === '') ctx.error(joinPath(path, 'data_dir'), 'must not be empty');
  const level = readString(ctx, t, 'log_level', path) ?? 'info';
  let logLevel: LogLevel = 'info';
  if ((LOG_LEVELS as readonly string[]).includes(level)) logLevel = level as LogLevel;
  else ctx.error(joinPath(path, 'log_level'), `must be one of ${LOG_LEVELS.join(', ')}, got "${level}"${suggest(level, LOG_LEVELS)}`);
  const spoolMaxBytes = readSize(ctx, t, 'spool_max_bytes', path) ?? LIMITS.spoolMaxBytes;
  const spoolMaxAgeMs = readDuration(ctx, t, 'spool_max_age', path) ?? LIMITS.spoolMaxAgeMs;
  if (spoolMaxAgeMs <= 0) ctx.error(joinPath(path, 'spool_max_age'), 'must be more than 0s (it bounds how long undelivered profiles are kept)');
  const shutdownGraceMs = readDuration(ctx, t, 'shutdown_grace', path) ?? LIMITS.shutdownGraceMs;
  let profileWorkers = defaultWorkerCount();
  if (t.profile_workers !== undefined) {
    const v = t.profile_workers;
    if ((typeof v === 'number' || typeof v === 'bigint') && Number.isInteger(Number(v)) && Number(v) >= 0 && Number(v) <= 64) profileWorkers = Number(v);
    else ctx.error(joinPath(path, 'profile_workers'), `must be a whole number from 0 (no worker threads) to 64, got ${shown(v)}`);
  }
  const shardWritten = readString(ctx, t, 'shard', path);
  const shardText = shardWritten ?? (t.shard === undefined ? ctx.opts.env.COLLECTOR_SHARD || undefined : undefined);
  // The pod ordinal is in the pod's (OS) host name, not in [agent] hostname (a tag, often the node's name).
  const shard =
    shardText === undefined ? undefined : parseShard(ctx, shardText, joinPath(path, 'shard'), ctx.opts.osHostname, shardWritten === undefined ? 'COLLECTOR_SHARD' : undefined);
  return { hostname, listen, dataDir, logLevel, spoolMaxBytes, spoolMaxAgeMs, shutdownGraceMs, profileWorkers, ...(shard ? { shard } : {}) };
}

const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };

/** A byte size: an integer number of bytes, or a string like "512MiB" or "1GB". */
function readSize(ctx: Ctx, t: Table, key: string, path: string): number | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  const keyPath = joinPath(path, key);
  const allowed = 'a number of bytes or a size like "512MiB" or "1GB"';
  let n: number | undefined;
  let shown: string;
  if (typeof v === 'number' || typeof v === 'bigint') {
    n = Number(v);
    shown = String(v);
  } else if (typeof v === 'string') {
    const text = readString(ctx, t, key, path);
    if (text === undefined) return undefined;
    shown = text;
    // Trimmed first: `\s*` on both sides of an optional unit backtracks quadratically on long blanks.
    const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(text.trim());
    const unit = SIZE_UNITS[(m?.[2] || 'B').toUpperCase()];
    if (m && unit !== undefined) n = Math.floor(Number(m[1]) * unit);
    else {
      ctx.error(keyPath, `"${text}" is not a size: write ${allowed}`);
      return undefined;
    }
  } else {
    ctx.error(keyPath, `must be ${allowed}, got ${describe(v)}`);
    return undefined;
  }
  if (!Number.isSafeInteger(n) || n < 1024 * 1024) {
    ctx.error(keyPath, `must be at least 1MiB, got ${shown}`);
    return undefined;
  }
  return n;
}

function isHostPort(s: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]*):(\d{1,5})$/.exec(s);
  return m !== null && Number(m[2]) <= 65535;
}

interface InputDefaults {
  readonly inputTags: Record<string, string>;
  readonly bodySizeLimitBytes: number;
  readonly generateMetrics: boolean;
}

function validateTlsKeys(ctx: Ctx, t: Table, path: string, isHttps: boolean): TlsConfig | undefined {
  const open = readBool(ctx, t, 'tls_open', path);
  const ca = readString(ctx, t, 'tls_ca', path);
  const cert = readString(ctx, t, 'tls_cert', path);
  const key = readString(ctx, t, 'tls_key', path);
  const skip = readBool(ctx, t, 'insecure_skip_verify', path) ?? false;
  if ((cert === undefined) !== (key === undefined)) {
    ctx.error(joinPath(path, cert === undefined ? 'tls_key' : 'tls_cert'), 'tls_cert and tls_key go together: set both for a client certificate, or neither');
  }
  // Read now, so --check reports a missing or unreadable file where it is named.
  for (const [k, f] of [['tls_ca', ca], ['tls_cert', cert], ['tls_key', key]] as const) {
    if (f === undefined) continue;
    try {
      accessSync(f, fsConstants.R_OK);
    } catch (err) {
      ctx.error(joinPath(path, k), `cannot read "${f}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const anyTlsKey = ca !== undefined || cert !== undefined || key !== undefined || skip;
  // DataKit applies the TLS keys only with tls_open = true; an https URL
  // always verifies certificates with the system CAs by default.
  if (open === false || (open === undefined && !anyTlsKey)) return undefined;
  if (!isHttps) {
    ctx.notice(joinPath(path, 'tls_open'), 'TLS settings are set but the url is http://, so they have no effect; use https:// to profile over TLS');
    return undefined;
  }
  return {
    ...(ca !== undefined ? { caFile: ca } : {}),
    ...(cert !== undefined ? { certFile: cert } : {}),
    ...(key !== undefined ? { keyFile: key } : {}),
    insecureSkipVerify: skip,
  };
}

interface ParsedUrl {
  readonly baseUrl: string;
  readonly isHttps: boolean;
  readonly basicAuth?: { username: string; password: string };
}

/** http(s) URL; for targets the path, if any, is the pprof prefix. */
function parseHttpUrl(ctx: Ctx, raw: string, keyPath: string, defaultPath: string | null): ParsedUrl | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    ctx.error(keyPath, `"${redactUrlText(raw)}" is not a URL; write it like "http://127.0.0.1:6060"`);
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    ctx.error(keyPath, `scheme must be http or https, got "${u.protocol.replace(/:$/, '')}"`);
    return undefined;
  }
  if (u.hostname === '') {
    ctx.error(keyPath, 'has no host');
    return undefined;
  }
  if (u.hash !== '') ctx.error(keyPath, 'must not have a #fragment');
  if (defaultPath !== null && u.search !== '') {
    ctx.error(keyPath, 'must not have a query string: the collector adds the query of each profile request itself');
  }
  let pathname = u.pathname.replace(/\/+$/, '');
  if (defaultPath !== null && pathname === '') pathname = defaultPath;
  const base = `${u.protocol}//${u.host}${pathname}${defaultPath === null ? u.search : ''}`;
  const out: ParsedUrl = { baseUrl: base, isHttps: u.protocol === 'https:' };
  if (u.username !== '' || u.password !== '') {
    try {
      return { ...out, basicAuth: { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } };
    } catch {
      // URL keeps "%zz" as written; decoding it throws URIError. Never echo the credentials.
      ctx.error(keyPath, 'user:password has a "%" that is not a %XX escape (write a literal % as %25)');
      return undefined;
    }
  }
  return out;
}

/** Hides the password of a URL-looking string that did not parse. */
function redactUrlText(s: string): string {
  return s.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:xxxxx@');
}


/**
 * "INDEX/COUNT", or "ordinal/COUNT" to take INDEX from a StatefulSet pod's
 * host name (the digits after its last "-", e.g. collector-2 is 2).
 */
function parseShard(ctx: Ctx, text: string, keyPath: string, hostname: string, fromEnv?: string): ShardConfig | undefined {
  const from = fromEnv ? `(from the environment variable ${fromEnv}) ` : '';
  const m = /^\s*(\d+|ordinal)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) {
    ctx.error(keyPath, `${from}must be "INDEX/COUNT" (e.g. "0/3") or "ordinal/COUNT" (index from a StatefulSet pod name), got "${text}"`);
    return undefined;
  }
  const count = Number(m[2]);
  let index: number;
  if (m[1] === 'ordinal') {
    const o = /-(\d+)$/.exec(hostname);
    if (!o) {
      ctx.error(keyPath, `${from}"ordinal" needs a host name ending in -N (a StatefulSet pod), but the host name is "${hostname}"`);
      return undefined;
    }
    index = Number(o[1]);
  } else index = Number(m[1]);
  if (count < 1 || index >= count) {
    ctx.error(keyPath, `${from}needs 0 <= INDEX < COUNT and COUNT >= 1, got index ${index} of ${count}`);
    return undefined;
  }
  return { index, count };
}

/** "10s/1m": at most that much CPU profiling per that period. */
function readCpuBudget(ctx: Ctx, t: Table, path: string, profileDurationMs: number | undefined): CpuBudgetConfig | undefined {
  const text = readString(ctx, t, 'cpu_budget', path);
  if (text === undefined) return undefined;
  const keyPath = joinPath(path, 'cpu_budget');
  const parts = text.split('/');
  let budgetMs: number;
  let periodMs: number;
  try {
    if (parts.length !== 2) throw new Error('x');
    budgetMs = parseGoDuration(parts[0]!);
    periodMs = parseGoDuration(parts[1]!);
  } catch {
    ctx.error(keyPath, `must be "BUDGET/PERIOD" with Go durations, like "10s/1m" (at most 10s of CPU profiling per service per minute), got "${text}"`);
    return undefined;
  }
  if (periodMs <= 0 || budgetMs <= 0 || budgetMs > periodMs) {
    ctx.error(keyPath, `needs 0 < BUDGET <= PERIOD, got "${text}"`);
    return undefined;
  }
  if (profileDurationMs !== undefined && budgetMs < profileDurationMs) {
    ctx.error(keyPath, `the budget (${formatDuration(budgetMs)}) is shorter than one CPU window (profile_duration ${formatDuration(profileDurationMs)}): no profile would ever fit`);
    return undefined;
  }
  return { budgetMs, periodMs };
}

/** `<type>_budget = "N/PERIOD"` for the types other than cpu: at most N scrapes per service per PERIOD. */
function readScrapeBudgets(ctx: Ctx, t: Table, path: string, enabledTypes: readonly ProfileTypeName[]): Partial<Record<ProfileTypeName, ScrapeBudgetConfig>> {
  const out: Partial<Record<ProfileTypeName, ScrapeBudgetConfig>> = {};
  for (const type of PROFILE_TYPE_NAMES) {
    if (type === 'cpu') continue;
    const key = `${type}_budget`;
    const text = readString(ctx, t, key, path);
    if (text === undefined) continue;
    const keyPath = joinPath(path, key);
    const m = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(text);
    let periodMs: number | undefined;
    try {
      if (m) periodMs = parseGoDuration(m[2]!);
    } catch {
      periodMs = undefined;
    }
    const scrapes = m ? Number(m[1]) : 0;
    if (periodMs === undefined || periodMs <= 0 || scrapes < 1) {
      ctx.error(keyPath, `must be "N/PERIOD": at most N ${type} scrapes per service per PERIOD (a Go duration), like "2/1m", got "${text}"`);
      continue;
    }
    if (!enabledTypes.includes(type)) {
      ctx.error(keyPath, `${type} is not in enabled_types, so there is nothing to budget`);
      continue;
    }
    out[type] = { scrapes, periodMs };
  }
  return out;
}

function readStringList(ctx: Ctx, t: Table, key: string, path: string, what: string): string[] | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  const keyPath = joinPath(path, key);
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    ctx.error(keyPath, `must be an array of strings (${what}), got ${describe(v)}`);
    return undefined;
  }
  const out: string[] = [];
  v.forEach((_, i) => {
    const s = readString(ctx, v as unknown as Table, String(i), keyPath);
    if (s !== undefined) out.push(s);
  });
  return out;
}

/** The one *_sd table of a template block, validated. */
function validateDiscovery(ctx: Ctx, t: Table, path: string): DiscoveryConfig | undefined {
  const kinds = SD_KINDS.filter((k) => t[k] !== undefined);
  if (kinds.length === 0) return undefined;
  if (kinds.length > 1) {
    ctx.error(joinPath(path, kinds[1]!), `one discovery per [[inputs.profile.go]] block, got ${kinds.join(' and ')}: write a block for each`);
    return undefined;
  }
  const kind = kinds[0]!;
  const p = joinPath(path, kind);
  const raw = t[kind];
  if (!isTable(raw)) {
    ctx.error(p, `must be a table ([inputs.profile.go.${kind}]), got ${describe(raw)}`);
    return undefined;
  }
  const refresh = (dflt: number) => {
    const v = readDuration(ctx, raw, 'refresh_interval', p) ?? dflt;
    if (v < 1000) ctx.error(joinPath(p, 'refresh_interval'), `must be at least 1s, got ${formatDuration(v)}`);
    return v;
  };
  switch (kind) {
    case 'file_sd': {
      checkKeys(ctx, raw, p, FILE_SD_KEYS);
      const files = readStringList(ctx, raw, 'files', p, 'paths or globs of JSON or TOML target files');
      if (!files || files.length === 0) {
        if (raw.files === undefined) ctx.error(joinPath(p, 'files'), 'is required: files = ["targets/*.json"]');
        else if (files) ctx.error(joinPath(p, 'files'), 'must list at least one file or glob, like files = ["targets/*.json"]');
        return undefined;
      }
      return { kind, files, refreshIntervalMs: refresh(5 * 60_000) };
    }
    case 'http_sd': {
      checkKeys(ctx, raw, p, HTTP_SD_KEYS);
      const u = readString(ctx, raw, 'url', p);
      if (u === undefined) {
        if (raw.url === undefined) ctx.error(joinPath(p, 'url'), 'is required: the URL serving Prometheus HTTP SD JSON');
        return undefined;
      }
      const parsed = parseHttpUrl(ctx, u, joinPath(p, 'url'), null);
      if (!parsed) return undefined;
      const timeoutMs = readDuration(ctx, raw, 'timeout', p) ?? 10_000;
      if (timeoutMs <= 0) ctx.error(joinPath(p, 'timeout'), `must be more than 0s (every request would time out at once), got ${formatDuration(timeoutMs)}`);
      return { kind, url: u, refreshIntervalMs: refresh(60_000), timeoutMs };
    }
    case 'dns_sd': {
      checkKeys(ctx, raw, p, DNS_SD_KEYS);
      const names = readStringList(ctx, raw, 'names', p, 'DNS names');
      const type = (readString(ctx, raw, 'type', p) ?? 'SRV').toUpperCase();
      if (type !== 'SRV' && type !== 'A' && type !== 'AAAA') ctx.error(joinPath(p, 'type'), `must be SRV, A or AAAA, got "${type}"`);
      const port = readPositiveInt(ctx, raw, 'port', p, 65535);
      if ((type === 'A' || type === 'AAAA') && port === undefined && raw.port === undefined) ctx.error(joinPath(p, 'port'), `is required with type = "${type}": the port net/http/pprof listens on`);
      const servers = readStringList(ctx, raw, 'servers', p, 'DNS servers as "ip:port"');
      if (!names || names.length === 0) {
        if (raw.names === undefined) ctx.error(joinPath(p, 'names'), 'is required: names = ["_pprof._tcp.example.com"]');
        else if (names) ctx.error(joinPath(p, 'names'), 'must list at least one DNS name, like names = ["_pprof._tcp.example.com"]');
        return undefined;
      }
      return {
        kind,
        names,
        type: type as 'SRV' | 'A' | 'AAAA',
        ...(port !== undefined ? { port } : {}),
        refreshIntervalMs: refresh(30_000),
        ...(servers ? { servers } : {}),
      };
    }
    case 'kubernetes_sd': {
      checkKeys(ctx, raw, p, KUBERNETES_SD_KEYS);
      const apiServer = readString(ctx, raw, 'api_server', p);
      if (apiServer !== undefined) parseHttpUrl(ctx, apiServer, joinPath(p, 'api_server'), null);
      const kubeconfig = readString(ctx, raw, 'kubeconfig', p);
      const namespaces = readStringList(ctx, raw, 'namespaces', p, 'namespaces') ?? [];
      const bearerTokenFile = readString(ctx, raw, 'bearer_token_file', p);
      const tls = validateTlsKeys(ctx, raw, p, true);
      return {
        kind,
        ...(apiServer !== undefined ? { apiServer } : {}),
        ...(kubeconfig !== undefined ? { kubeconfig } : {}),
        namespaces,
        ...(tls ? { tls } : {}),
        ...(bearerTokenFile !== undefined ? { bearerTokenFile } : {}),
      };
    }
  }
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
    } else if (intervalMs !== undefined && profileDurationMs >= intervalMs) {
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

  let enabledTypes: ProfileTypeName[] = [...PROFILE_TYPE_NAMES];
  const rawTypes = t.enabled_types;
  if (rawTypes !== undefined) {
    const typesPath = joinPath(path, 'enabled_types');
    if (!Array.isArray(rawTypes)) {
      ctx.error(typesPath, `must be an array of profile types like ["cpu", "heap"], got ${describe(rawTypes)}`);
    } else if (rawTypes.length === 0) {
      ctx.error(typesPath, `must list at least one of ${PROFILE_TYPE_NAMES.join(', ')} (leave it out to scrape all five)`);
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
        else if (!isProfileTypeName(v)) ctx.error(p, `unknown profile type "${v}"${suggest(v, PROFILE_TYPE_NAMES)}; allowed: ${PROFILE_TYPE_NAMES.join(', ')}`);
        else if (enabledTypes.includes(v)) ctx.error(p, `"${v}" is listed twice`);
        else enabledTypes.push(v);
      });
    }
  }

  const goTags = readStringTable(ctx, t, 'tags', path);
  // A `service` tag written in either tags table is set explicitly and wins
  // over the placeholder; only with none at all is the placeholder used.
  const taggedService = goTags.service || defaults.inputTags.service;
  if ((service === undefined || service === '') && !taggedService) {
    ctx.notice(path, `service is not set: profiles are tagged service=${DEFAULT_SERVICE}; set service = "..." to name them`);
  }
  // A template's targets may be https (scheme from discovery), so its TLS keys count.
  const tls = url || isTemplate ? validateTlsKeys(ctx, t, path, url ? url.isHttps : true) : undefined;
  const cpuBudget = readCpuBudget(ctx, t, path, profileDurationMs);
  const scrapeBudgets = readScrapeBudgets(ctx, t, path, enabledTypes);

  if (ctx.issues.length > before || (url === undefined && !discovery) || intervalMs === undefined || profileDurationMs === undefined || httpTimeoutMs === undefined) {
    return undefined;
  }
  return {
    source,
    baseUrl: url ? url.baseUrl : '',
    ...(discovery ? { discovery } : {}),
    ...(cpuBudget ? { cpuBudget } : {}),
    ...(Object.keys(scrapeBudgets).length > 0 ? { scrapeBudgets } : {}),
    ...(url?.basicAuth ? { basicAuth: url.basicAuth } : {}),
    intervalMs,
    profileDurationMs,
    httpTimeoutMs,
    service: service || taggedService || DEFAULT_SERVICE,
    env,
    version,
    enabledTypes,
    inputTags: defaults.inputTags,
    goTags,
    bodySizeLimitBytes: defaults.bodySizeLimitBytes,
    generateMetrics: defaults.generateMetrics,
    ...(tls ? { tls } : {}),
  };
}

function validateInputs(ctx: Ctx, root: Table): GoTargetConfig[] {
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
function checkPyroscopeLabels(ctx: Ctx, targets: readonly GoTargetConfig[]): void {
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

function validateOutputs(ctx: Ctx, root: Table, agent: AgentConfig): { outputs: OutputConfig[]; defaultOutput: boolean } {
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
