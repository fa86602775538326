// The scheduler's jobs for the current targets: one per (target, type), on
// the type's interval or its cron schedule, and the triggers that take a
// target's types at once when a metric derived from its profiles crosses a
// threshold ([inputs.profile.go.trigger]; src/schedule/trigger.ts says what
// a crossing is).

import { formatDuration } from './config/duration.js';
import type { Clock } from './core/clock.js';
import { LIMITS } from './core/limits.js';
import type { Logger } from './core/log.js';
import type { Target } from './core/target.js';
import type { ProfilePipeline } from './pipeline.js';
import { runtimeValues } from './profile/runtime-values.js';
import type { ProfileTypeName } from './profile/types.js';
import { CronSlots } from './schedule/cron.js';
import type { JobSpec } from './schedule/scheduler.js';
import { TriggerWatch, type TriggerFiring } from './schedule/trigger.js';
import type { CollectOutcome } from './server/health.js';
import type { CollectorMetrics } from './server/metrics.js';

export interface CollectionJobsDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: CollectorMetrics;
  readonly pipeline: ProfilePipeline;
  /** The scheduler's runNow: runs a job now (after its run in flight, if any). */
  readonly runNow: (key: string, reason: string) => boolean;
  /** IANA zone cron patterns are read in; default: the process's local time. */
  readonly timezone?: string;
}

export const jobKey = (target: Target, type: ProfileTypeName): string => `${target.id}/${type}`;

export class CollectionJobs {
  /** Job key -> what it scrapes, for messages about a job. */
  readonly byKey = new Map<string, { target: Target; type: ProfileTypeName }>();
  /** One CronSlots per pattern and spread, shared by every job on it. */
  private readonly cronSlots = new Map<string, CronSlots>();
  private readonly triggers: TriggerWatch;

  constructor(private readonly deps: CollectionJobsDeps) {
    this.triggers = new TriggerWatch(deps.clock);
  }

  jobsFor(targets: readonly Target[]): JobSpec[] {
    const jobs: JobSpec[] = [];
    this.byKey.clear();
    const slotsInUse = new Set<CronSlots>();
    for (const target of targets) {
      for (const type of target.config.enabledTypes) {
        const key = jobKey(target, type);
        this.byKey.set(key, { target, type });
        const run: JobSpec['run'] = async ({ signal, reason }) => {
          const o = await this.deps.pipeline.collect(target, type, signal, reason ? { trigger: reason } : {});
          if (reason && o.result === 'shipped') this.deps.metrics?.triggeredProfiles.inc({ metric: reason, type });
        };
        const cron = target.config.schedule?.[type];
        if (cron) {
          const slots = this.slotsFor(cron.pattern, cron.minGapMs, target.config.scheduleSpreadMs ?? LIMITS.defaultScheduleSpreadMs);
          slotsInUse.add(slots);
          jobs.push({ key, cron: slots, run });
        } else {
          jobs.push({ key, intervalMs: target.config.intervalMs, run });
        }
      }
    }
    for (const [k, slots] of this.cronSlots) if (!slotsInUse.has(slots)) this.cronSlots.delete(k);
    return jobs;
  }

  private slotsFor(pattern: string, minGapMs: number, spreadMs: number): CronSlots {
    const k = `${pattern}\n${minGapMs}\n${spreadMs}`;
    let slots = this.cronSlots.get(k);
    if (!slots) {
      slots = new CronSlots(pattern, { minGapMs, spreadMs, ...(this.deps.timezone ? { timezone: this.deps.timezone } : {}) });
      this.cronSlots.set(k, slots);
    }
    return slots;
  }

  /** Every collection's outcome: the metrics it derives may cross a trigger's threshold. */
  observe(o: CollectOutcome, target: Target): void {
    const trigger = target.config.trigger;
    if (!trigger || !this.byKey.has(jobKey(target, o.type))) return;
    const firing = this.triggers.update(target.id, trigger, runtimeValues(o.type, o.result, o.stats));
    if (firing) this.fire(target, firing);
  }

  private fire(target: Target, f: TriggerFiring): void {
    const taken = f.types.filter((type) => this.deps.runNow(jobKey(target, type), f.metric));
    this.deps.metrics?.triggerFirings.inc({ metric: f.metric });
    const value = Number.isInteger(f.value) ? String(f.value) : f.value.toFixed(3);
    this.deps.logger.info(
      { target: target.baseUrl, service: target.service, instance: target.instance, trigger: f.metric, value: f.value, threshold: f.threshold, types: taken, cooldown: formatDuration(f.cooldownMs) },
      `trigger ${f.metric}: ${value} is above ${f.threshold} on ${target.instance} (${target.service}): taking ${taken.join(', ')} now, tagged trigger=${f.metric}; no other firing for this target within ${formatDuration(f.cooldownMs)}`,
    );
  }

  retainTargets(ids: ReadonlySet<string>): void {
    this.triggers.retainTargets(ids);
  }
}
