// [agent]: host name, status server (with [agent.web]: web.ts), data_dir, log level, spool bounds, memory limit, shutdown grace, profile workers, compression level, shard.

import { LIMITS, defaultWorkerCount } from '../../core/limits.js';
import { joinPath } from '../key-lines.js';
import { LOG_LEVELS, type AgentConfig, type ShardConfig, type LogLevel } from '../types.js';
import { checkKeys, Ctx, describe, isTable, type KeySpec, OURS, readDuration, readString, shown, suggest, type Table } from './readers.js';
import { validateWeb } from './web.js';

const AGENT_KEYS: Record<string, KeySpec> = {
  hostname: OURS,
  listen: OURS,
  data_dir: OURS,
  spool_max_bytes: OURS,
  spool_max_age: OURS,
  memory_limit: OURS,
  shutdown_grace: OURS,
  profile_workers: OURS,
  compression_level: OURS,
  shard: OURS,
  log_level: OURS,
  web: OURS,
};

export function validateAgent(ctx: Ctx, root: Table): AgentConfig {
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
  // Checked like spool_max_bytes (at least 1MiB); a limit below one large body just skips that target's scrapes.
  const memoryLimitBytes = readSize(ctx, t, 'memory_limit', path) ?? LIMITS.memoryLimitBytes;
  const shutdownGraceMs = readDuration(ctx, t, 'shutdown_grace', path) ?? LIMITS.shutdownGraceMs;
  let profileWorkers = defaultWorkerCount();
  if (t.profile_workers !== undefined) {
    const v = t.profile_workers;
    if ((typeof v === 'number' || typeof v === 'bigint') && Number.isInteger(Number(v)) && Number(v) >= 0 && Number(v) <= 64) profileWorkers = Number(v);
    else ctx.error(joinPath(path, 'profile_workers'), `must be a whole number from 0 (no worker threads) to 64, got ${shown(v)}`);
  }
  let compressionLevel: number = LIMITS.defaultCompressionLevel;
  if (t.compression_level !== undefined) {
    const v = t.compression_level;
    if ((typeof v === 'number' || typeof v === 'bigint') && Number.isInteger(Number(v)) && Number(v) >= 1 && Number(v) <= 9) compressionLevel = Number(v);
    else ctx.error(joinPath(path, 'compression_level'), `must be a whole number from 1 (fastest) to 9 (smallest), got ${shown(v)}`);
  }
  const shardWritten = readString(ctx, t, 'shard', path);
  const shardText = shardWritten ?? (t.shard === undefined ? ctx.opts.env.COLLECTOR_SHARD || undefined : undefined);
  // The pod ordinal is in the pod's (OS) host name, not in [agent] hostname (a tag, often the node's name).
  const shard =
    shardText === undefined ? undefined : parseShard(ctx, shardText, joinPath(path, 'shard'), ctx.opts.osHostname, shardWritten === undefined ? 'COLLECTOR_SHARD' : undefined);
  const web = validateWeb(ctx, t, path, listen);
  return { hostname, listen, dataDir, logLevel, spoolMaxBytes, spoolMaxAgeMs, memoryLimitBytes, shutdownGraceMs, profileWorkers, compressionLevel, ...(shard ? { shard } : {}), ...(web ? { web } : {}) };
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
