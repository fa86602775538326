// cpu_budget: at most BUDGET of CPU profiling per service per PERIOD, across
// all its replicas, so a 50-replica service is not profiled 50 times a
// minute. Replicas take turns: a CPU slot is granted to a replica only when
// no other replica of the service has waited longer since its last window.
// (A grant counts when given, so a replica that fails does not hold the
// others' turn.)

import type { CpuBudgetConfig } from '../config/types.js';
import type { Clock } from '../schedule/clock.js';

export type BudgetDecision = { readonly ok: true } | { readonly ok: false; readonly why: 'spent' | 'turn' };

interface ServiceBudget {
  periodStart: number;
  usedMs: number;
  readonly lastGranted: Map<string, number>;
}

export class CpuBudgets {
  private readonly byService = new Map<string, ServiceBudget>();

  constructor(private readonly clock: Clock) {}

  /**
   * Whether replica `targetId` of `service` may take a CPU window of
   * `windowMs` now; on yes, the window is charged to the budget.
   */
  tryTake(service: string, targetId: string, budget: CpuBudgetConfig, windowMs: number, replicas: readonly string[]): BudgetDecision {
    const now = this.clock.now();
    let b = this.byService.get(service);
    if (!b) {
      b = { periodStart: now - (now % budget.periodMs), usedMs: 0, lastGranted: new Map() };
      this.byService.set(service, b);
    }
    if (now - b.periodStart >= budget.periodMs) {
      b.periodStart = now - (now % budget.periodMs);
      b.usedMs = 0;
    }
    if (b.usedMs + windowMs > budget.budgetMs) return { ok: false, why: 'spent' };
    const mine = b.lastGranted.get(targetId) ?? -Infinity;
    for (const other of replicas) {
      if (other !== targetId && (b.lastGranted.get(other) ?? -Infinity) < mine) return { ok: false, why: 'turn' };
    }
    b.usedMs += windowMs;
    b.lastGranted.set(targetId, now);
    // Forget replicas that are gone.
    if (b.lastGranted.size > replicas.length * 2) {
      const live = new Set(replicas);
      for (const id of b.lastGranted.keys()) if (!live.has(id)) b.lastGranted.delete(id);
    }
    return { ok: true };
  }
}
