// [inputs.profile.go.schedule] (type = "cron pattern with seconds") and
// schedule_spread: which types run on a cron pattern instead of `interval`.

import { LIMITS } from '../../core/limits.js';
import { BUILTIN_TYPE_NAMES, isBuiltinType, typeSpec, type ProfileTypeName, type ProfileTypeSpec } from '../../profile/types.js';
import { checkCron, parseCron, type CronCheck } from '../../core/cron-pattern.js';
import { formatDuration } from '../duration.js';
import { expandEnv } from '../env.js';
import { joinPath } from '../key-lines.js';
import type { CronScheduleConfig } from '../types.js';
import { Ctx, describe, isTable, readDuration, suggest, type Table } from './readers.js';

const PATTERN_HELP =
  'write six fields, second minute hour day-of-month month day-of-week, like "0 */5 * * * *" (every 5 minutes at second 0); ' +
  'a field takes a number, *, a range 1-5, a step */10 or 0-30/10, a list 1,15, names JAN-DEC and SUN-SAT, and L, W, # in the day fields';

/** The types that hold a profiling window (cpu, a custom one with seconds): it must end before the pattern's next run. */
function takesWindow(type: ProfileTypeName, custom: readonly ProfileTypeSpec[] | undefined): boolean {
  return typeSpec(type, custom).seconds;
}

/**
 * Whether the raw block puts every window-taking type on a schedule: then
 * `interval` does not bound profile_duration (the schedule does, below).
 */
export function windowTypesScheduled(t: Table, custom: readonly ProfileTypeSpec[] = []): boolean {
  const s = t.schedule;
  const names = [...BUILTIN_TYPE_NAMES, ...custom.map((c) => c.name)];
  return isTable(s) && names.filter((type) => takesWindow(type, custom)).every((type) => s[type] !== undefined);
}

export interface ScheduleSettings {
  readonly schedule?: Partial<Record<ProfileTypeName, CronScheduleConfig>>;
  readonly scheduleSpreadMs?: number;
}

/**
 * Reads schedule and schedule_spread of a [[inputs.profile.go]] block.
 * `now` is when the runs are looked at (the shortest gap between runs).
 */
export function readSchedule(
  ctx: Ctx,
  t: Table,
  path: string,
  c: { readonly enabledTypes: readonly ProfileTypeName[]; readonly profileDurationMs: number | undefined; readonly customTypes?: readonly ProfileTypeSpec[] },
  now: number = Date.now(),
): ScheduleSettings {
  const spread = readDuration(ctx, t, 'schedule_spread', path);
  const raw = t.schedule;
  if (raw === undefined) {
    if (spread !== undefined) ctx.notice(joinPath(path, 'schedule_spread'), 'has no effect without [inputs.profile.go.schedule]');
    return {};
  }
  const schedPath = joinPath(path, 'schedule');
  if (!isTable(raw)) {
    ctx.error(schedPath, `must be a table of type = "cron pattern" lines like [inputs.profile.go.schedule] goroutine = "0 */5 * * * *", got ${describe(raw)}`);
    return {};
  }
  const schedule: Partial<Record<ProfileTypeName, CronScheduleConfig>> = {};
  for (const [type, value] of Object.entries(raw)) {
    const p = joinPath(schedPath, type);
    if (!isBuiltinType(type) && !c.enabledTypes.includes(type)) {
      const allowed = [...new Set([...BUILTIN_TYPE_NAMES, ...c.enabledTypes])];
      ctx.error(p, `unknown profile type "${type}"${suggest(type, allowed)}; allowed: ${allowed.join(', ')}`);
      continue;
    }
    if (!c.enabledTypes.includes(type)) {
      ctx.error(p, `"${type}" is not in enabled_types (${c.enabledTypes.join(', ')}): a schedule is for a type this block scrapes`);
      continue;
    }
    if (typeof value !== 'string') {
      ctx.error(p, `must be a cron pattern string like "0 */5 * * * *", got ${describe(value)}`);
      continue;
    }
    let pattern: string;
    try {
      pattern = expandEnv(value, ctx.opts.env).trim();
    } catch (err) {
      ctx.error(p, (err as Error).message);
      continue;
    }
    let check: CronCheck;
    try {
      check = checkedPattern(ctx, pattern, now);
    } catch (err) {
      ctx.error(p, `${JSON.stringify(pattern)} is not a cron pattern with seconds (${(err as Error).message}); ${PATTERN_HELP}`);
      continue;
    }
    if (check.next.length === 0) {
      ctx.error(p, `${JSON.stringify(pattern)} never runs (no date matches it); ${PATTERN_HELP}`);
      continue;
    }
    if (check.minGapMs < LIMITS.minIntervalMs) {
      ctx.error(
        p,
        `${JSON.stringify(pattern)} runs ${formatDuration(check.minGapMs)} apart at its closest: runs must be at least ${formatDuration(LIMITS.minIntervalMs)} apart, like interval (shorter profiles the service too often)`,
      );
      continue;
    }
    if (takesWindow(type, c.customTypes) && c.profileDurationMs !== undefined && c.profileDurationMs >= check.minGapMs) {
      ctx.error(
        p,
        `${JSON.stringify(pattern)} runs ${formatDuration(check.minGapMs)} apart at its closest, and the ${type} window (profile_duration ${formatDuration(c.profileDurationMs)}) must end before the next run: set profile_duration below ${formatDuration(check.minGapMs)}, or space the runs further apart`,
      );
      continue;
    }
    schedule[type] = { pattern, minGapMs: check.minGapMs };
  }
  return Object.keys(schedule).length > 0 ? { schedule, scheduleSpreadMs: spread ?? LIMITS.defaultScheduleSpreadMs } : {};
}

/** Per validation, each pattern is looked at once (a thousand blocks may share one). */
const checked = new WeakMap<Ctx, Map<string, CronCheck>>();

function checkedPattern(ctx: Ctx, pattern: string, now: number): CronCheck {
  let byPattern = checked.get(ctx);
  if (!byPattern) checked.set(ctx, (byPattern = new Map()));
  let c = byPattern.get(pattern);
  if (!c) byPattern.set(pattern, (c = checkCron(parseCron(pattern), now)));
  return c;
}
