// A target's cron schedule and trigger in words, for --check: each pattern
// with its next three runs (and, for a target, its stable offset after each
// run), and the trigger's thresholds, types and cooldown.

import { formatDuration } from '../config/duration.js';
import type { GoTargetConfig, TriggerMetric } from '../config/types.js';
import { LIMITS } from '../core/limits.js';
import { typeSpec } from '../profile/types.js';
import { CronSlots } from '../schedule/cron.js';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Unix ms as local time with its UTC offset, like 2026-12-06T10:05:00+01:00 (the zone patterns are read in). */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const frac = d.getMilliseconds() ? `.${pad(d.getMilliseconds(), 3)}` : '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${frac}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/** CronSlots by pattern, spread and gap: a croner Cron holds ~80 KB, so a plan of many targets shares them. */
export type SlotsCache = Map<string, CronSlots>;

/**
 * One line per scheduled type. With `jobKeyPrefix` (a target's id and "/"),
 * the line also gives that target's offset after each run.
 */
export function scheduleLines(c: GoTargetConfig, now: number, jobKeyPrefix?: string, cache: SlotsCache = new Map()): string[] {
  const out: string[] = [];
  const spreadMs = c.scheduleSpreadMs ?? LIMITS.defaultScheduleSpreadMs;
  for (const [type, s] of Object.entries(c.schedule ?? {})) {
    if (!s) continue;
    const k = `${s.pattern}\n${spreadMs}\n${s.minGapMs}`;
    let slots = cache.get(k);
    if (!slots) cache.set(k, (slots = new CronSlots(s.pattern, { spreadMs, minGapMs: s.minGapMs })));
    const runs = slots.nextRuns(now, 3).map(localTime);
    const where =
      jobKeyPrefix !== undefined
        ? `this target ${formatDuration(slots.phaseOf(`${jobKeyPrefix}${type}`))} after each run`
        : `each target at its own offset within ${formatDuration(slots.windowMs)} after each run`;
    const window = typeSpec(type, c.customTypes).seconds ? ` (${formatDuration(c.profileDurationMs)} window)` : '';
    out.push(`${type}${window} at "${s.pattern}" (${where}): next ${runs.join(', ')}`);
  }
  return out;
}

/** The trigger in words, or undefined. */
export function triggerLine(c: GoTargetConfig): string | undefined {
  const t = c.trigger;
  if (!t) return undefined;
  const above = (Object.entries(t.above) as Array<[TriggerMetric, number]>).map(([m, v]) => `${m} above ${v}`);
  return `trigger: when ${above.join(' or ')} (crossing from at or below, once per excursion), take ${t.types.join(', ')} at once, tagged trigger=<metric>; cooldown ${formatDuration(t.cooldownMs)}`;
}
