// [inputs.profile.go.trigger]: thresholds on the runtime metrics derived from
// the profiles, the types to take at once when one is crossed, a cooldown.

import { LIMITS } from '../../core/limits.js';
import { BUILTIN_TYPE_NAMES, isBuiltinType, type ProfileTypeName } from '../../profile/types.js';
import { formatDuration } from '../duration.js';
import { joinPath } from '../key-lines.js';
import { TRIGGER_METRICS, type TriggerConfig, type TriggerMetric } from '../types.js';
import { checkKeys, Ctx, describe, isTable, OURS, readDuration, readStringList, shown, suggest, type KeySpec, type Table } from './readers.js';

const METRICS = Object.keys(TRIGGER_METRICS) as TriggerMetric[];
const aboveKey = (m: TriggerMetric) => `${m}_above`;

const TRIGGER_KEYS: Record<string, KeySpec> = {
  ...Object.fromEntries(METRICS.map((m) => [aboveKey(m), OURS])),
  types: OURS,
  cooldown: OURS,
};

/** What each threshold is in, for messages. */
const UNIT: Record<TriggerMetric, string> = {
  cpu_cores: 'CPU cores, like 0.8',
  heap_live_bytes: 'bytes, like 536870912 (512 MiB)',
  goroutines: 'goroutines, like 10000',
  mutex_wait_seconds_per_second: 'seconds of mutex wait per second, like 0.5',
};

export function readTrigger(ctx: Ctx, t: Table, path: string, enabledTypes: readonly ProfileTypeName[]): TriggerConfig | undefined {
  const raw = t.trigger;
  if (raw === undefined) return undefined;
  const p = joinPath(path, 'trigger');
  if (!isTable(raw)) {
    ctx.error(p, `must be a table like [inputs.profile.go.trigger] with cpu_cores_above = 0.8, got ${describe(raw)}`);
    return undefined;
  }
  const before = ctx.issues.length;
  checkKeys(ctx, raw, p, TRIGGER_KEYS);

  const above: Partial<Record<TriggerMetric, number>> = {};
  for (const m of METRICS) {
    const v = raw[aboveKey(m)];
    if (v === undefined) continue;
    const kp = joinPath(p, aboveKey(m));
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
      ctx.error(kp, `must be a number from 0 up, in ${UNIT[m]}; got ${shown(v)}`);
      continue;
    }
    const source = TRIGGER_METRICS[m];
    if (!enabledTypes.includes(source)) {
      ctx.error(kp, `${m} is derived from the ${source} profile, which this block does not scrape: add "${source}" to enabled_types, or remove ${aboveKey(m)}`);
      continue;
    }
    above[m] = n;
  }
  if (Object.keys(above).length === 0 && ctx.issues.length === before) {
    ctx.error(p, `has no threshold: set at least one of ${METRICS.map(aboveKey).join(', ')}`);
  }

  let types: ProfileTypeName[] = [...enabledTypes];
  const rawTypes = readStringList(ctx, raw, 'types', p, `profile types to take when a threshold is crossed, like ["cpu", "goroutine"]`);
  if (rawTypes !== undefined) {
    const tp = joinPath(p, 'types');
    if (rawTypes.length === 0) ctx.error(tp, 'must list at least one profile type (leave it out to take every type in enabled_types)');
    types = [];
    rawTypes.forEach((name, i) => {
      const ip = `${tp}[${i}]`;
      const allowed = [...new Set([...BUILTIN_TYPE_NAMES, ...enabledTypes])];
      if (!isBuiltinType(name) && !enabledTypes.includes(name)) ctx.error(ip, `unknown profile type "${name}"${suggest(name, allowed)}; allowed: ${allowed.join(', ')}`);
      else if (!enabledTypes.includes(name)) ctx.error(ip, `"${name}" is not in enabled_types (${enabledTypes.join(', ')}): a trigger takes types this block scrapes`);
      else if (types.includes(name)) ctx.error(ip, `"${name}" is listed twice`);
      else types.push(name);
    });
  }

  const cooldownMs = readDuration(ctx, raw, 'cooldown', p) ?? LIMITS.defaultTriggerCooldownMs;
  if (raw.cooldown !== undefined && cooldownMs < LIMITS.minTriggerCooldownMs) {
    ctx.error(
      joinPath(p, 'cooldown'),
      `must be at least ${formatDuration(LIMITS.minTriggerCooldownMs)}, got ${formatDuration(cooldownMs)}: each firing takes a set of profiles, like a scheduled scrape`,
    );
  }
  if (ctx.issues.length > before) return undefined;
  return { above, types, cooldownMs };
}
