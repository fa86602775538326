// Overhead budgets per service, across all its replicas, so a 50-replica
// service is not profiled 50 times a minute:
//   cpu_budget = "10s/1m"       at most 10 s of CPU profiling a minute;
//   <type>_budget = "2/1m"      at most 2 scrapes of that type a minute.
// Replicas take turns: a slot is granted to a replica only when no other
// replica of the service has waited longer since its last grant. (A grant
// counts when given, so a replica that fails does not hold the others' turn.)

import type { CpuBudgetConfig, ScrapeBudgetConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import type { Target } from '../core/target.js';
import type { ProfileTypeName } from '../profile/types.js';

export type BudgetDecision = { readonly ok: true } | { readonly ok: false; readonly why: 'spent' | 'turn' };

interface KeyBudget {
  periodStart: number;
  used: number;
  readonly lastGranted: Map<string, number>;
}

export class CpuBudgets {
  private readonly byKey = new Map<string, KeyBudget>();

  constructor(private readonly clock: Clock) {}

  /**
   * Whether replica `targetId` may spend `cost` of the budget of `key` (a
   * service, or a service and type) now: milliseconds of CPU window for a
   * cpu_budget, 1 per scrape for a <type>_budget. On yes, it is charged.
   */
  tryTake(key: string, targetId: string, budget: CpuBudgetConfig | ScrapeBudgetConfig, cost: number, replicas: readonly string[]): BudgetDecision {
    const limit = 'budgetMs' in budget ? budget.budgetMs : budget.scrapes;
    const now = this.clock.now();
    let b = this.byKey.get(key);
    if (!b) {
      b = { periodStart: now - (now % budget.periodMs), used: 0, lastGranted: new Map() };
      this.byKey.set(key, b);
    }
    if (now - b.periodStart >= budget.periodMs) {
      b.periodStart = now - (now % budget.periodMs);
      b.used = 0;
    }
    if (b.used + cost > limit) return { ok: false, why: 'spent' };
    const mine = b.lastGranted.get(targetId) ?? -Infinity;
    for (const other of replicas) {
      if (other !== targetId && (b.lastGranted.get(other) ?? -Infinity) < mine) return { ok: false, why: 'turn' };
    }
    b.used += cost;
    b.lastGranted.set(targetId, now);
    // Forget replicas that are gone.
    if (b.lastGranted.size > replicas.length * 2) {
      const live = new Set(replicas);
      for (const id of b.lastGranted.keys()) if (!live.has(id)) b.lastGranted.delete(id);
    }
    return { ok: true };
  }
}

/** The budget of a target's type, if it has one. */
export function budgetOf(target: Target, type: ProfileTypeName): CpuBudgetConfig | ScrapeBudgetConfig | undefined {
  return type === 'cpu' ? target.config.cpuBudget : target.config.scrapeBudgets?.[type];
}

/** Replicas share a budget by service and type. */
export function budgetKey(target: Target, type: ProfileTypeName): string {
  return `${target.service}/${type}`;
}

/**
 * Per budget key, the ids of the targets that take turns in it. Only
 * targets that scrape the type are its replicas: one that never asks (the
 * type not in its types) would hold every other's turn forever.
 */
export function budgetReplicas(targets: readonly Target[]): Map<string, string[]> {
  const replicas = new Map<string, string[]>();
  for (const t of targets) {
    for (const type of t.config.enabledTypes) {
      if (!budgetOf(t, type)) continue;
      const key = budgetKey(t, type);
      const list = replicas.get(key) ?? [];
      list.push(t.id);
      replicas.set(key, list);
    }
  }
  return replicas;
}
