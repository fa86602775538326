// Triggered profiles ([inputs.profile.go.trigger]): when a runtime metric
// derived from a target's profiles crosses its threshold, that target's
// trigger types are taken at once (the scheduler's runNow).
//
// What "crossing" means here: the value goes above the threshold from at or
// below it (a target's first value counts as coming from below), judged each
// time the metric is updated, i.e. when a profile of its type is processed.
// One firing per excursion: a value that stays above does not fire again
// until it has gone back to or below the threshold, because a service that
// runs hot all the time is profiled by its schedule already, and repeating
// the same picture every cooldown costs the service without telling anything
// new. The cooldown is per target, across its metrics: after a firing, no
// other for `cooldown`, which bounds what triggers add to the profiling duty
// even for a value that flaps around its threshold. A crossing that comes
// during the cooldown is not lost: it fires at the first update after the
// cooldown if the value is still above.

import type { Clock } from '../core/clock.js';
import type { TriggerConfig, TriggerMetric } from '../config/types.js';
import type { ProfileTypeName } from '../profile/types.js';

export interface TriggerFiring {
  readonly metric: TriggerMetric;
  readonly value: number;
  readonly threshold: number;
  readonly types: readonly ProfileTypeName[];
  readonly cooldownMs: number;
}

interface TargetState {
  lastFiredAt: number;
  /** Metrics that fired and have not gone back to or below their threshold since. */
  readonly fired: Set<TriggerMetric>;
}

export class TriggerWatch {
  private readonly byTarget = new Map<string, TargetState>();

  constructor(private readonly clock: Clock) {}

  /** New values of a target's metrics: the firing they make, if any (at most one per call). */
  update(targetId: string, trigger: TriggerConfig, values: Partial<Record<TriggerMetric, number>>): TriggerFiring | null {
    let firing: TriggerFiring | null = null;
    for (const [metric, value] of Object.entries(values) as Array<[TriggerMetric, number]>) {
      const threshold = trigger.above[metric];
      if (threshold === undefined) continue;
      let s = this.byTarget.get(targetId);
      if (!s) this.byTarget.set(targetId, (s = { lastFiredAt: -Infinity, fired: new Set() }));
      if (value <= threshold) {
        s.fired.delete(metric);
        continue;
      }
      const now = this.clock.now();
      if (firing || s.fired.has(metric) || now - s.lastFiredAt < trigger.cooldownMs) continue;
      s.lastFiredAt = now;
      s.fired.add(metric);
      firing = { metric, value, threshold, types: trigger.types, cooldownMs: trigger.cooldownMs };
    }
    return firing;
  }

  /** Forgets targets that are gone. */
  retainTargets(ids: ReadonlySet<string>): void {
    for (const id of this.byTarget.keys()) if (!ids.has(id)) this.byTarget.delete(id);
  }
}
